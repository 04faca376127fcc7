"""Numbered model versions in the layout TF Serving watches.

TF Serving polls `<model_dir>/` and loads the highest integer-named
subdirectory `<model_dir>/<version>/`. It would happily load a half-written
one, so a version directory must appear complete or not at all: it is written
into a hidden temporary directory beside it (same file system) and moved into
place with one `os.rename`. Versions are never overwritten (as in TFX's
Pusher): asking for an existing number is an error.

Exporters of one model directory take turns (`exclusive`: an `fcntl.flock`
on `<model_dir>/.export.lock`, released by the kernel when the holder dies).
Whoever holds it knows that every hidden `.tmp-*` directory there was left
by a killed exporter, and removes it (`remove_stale_temp_dirs`).

A version may record the fingerprint of the model it holds
(`assets.extra/model_fingerprint`, `find_version_with_fingerprint`), so
that pushing the same model twice finds the existing version instead.
"""

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import time

LOCK_FILE = ".export.lock"
TEMP_PREFIX = ".tmp-"
FINGERPRINT_FILE = os.path.join("assets.extra", "model_fingerprint")


class VersionExistsError(FileExistsError):
    """The requested version directory already exists."""


def existing_versions(model_dir):
    """Sorted integer versions present under `model_dir` (empty if none)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(name)
        for name in os.listdir(model_dir)
        if name.isdigit() and os.path.isdir(os.path.join(model_dir, name))
    )


def next_version(model_dir):
    """One more than the highest existing version, or 1."""
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def check_writable(model_dir):
    """Raises `PermissionError` unless a file can be created in `model_dir`.

    Checked before any (minutes-long) work so that a bad `--serving_dir`
    fails fast instead of after training. The check is the real thing: the
    missing directories are created, a file is written into `model_dir` and
    removed, and the directories this check created are removed again
    (`os.access` says yes to root for read-only places such as `/proc`).
    """
    probe(model_dir, "model versions")


def probe(directory, what):
    """Creates (if needed) `directory`, writes and removes a small file in
    it, and removes the directories it created. Raises `PermissionError`
    naming `directory` and the cause."""
    directory = os.path.abspath(directory)
    missing, parent = [], directory
    while not os.path.exists(parent):
        missing.append(parent)
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    try:
        if not os.path.isdir(parent):
            raise NotADirectoryError(f"{parent!r} is not a directory")
        os.makedirs(directory, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix=".write-check-", dir=directory)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.remove(path)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            cause = f"its file system is full ({error})"
        else:
            cause = f"{parent!r} is not a writable directory ({error})"
        raise PermissionError(
            f"Cannot write {what} under {directory!r}: {cause}. Expected a directory "
            "this process can create files in; pass another one, free space or fix "
            "its permissions."
        ) from error
    finally:
        for created in missing:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(created)


@contextlib.contextmanager
def atomic_version_dir(model_dir, version):
    """Yields a temporary directory; on success it becomes `model_dir/version`.

    Args:
        model_dir: `<serving_dir>/<model_name>`; created if missing.
        version: positive int, must not exist yet.

    Raises:
        VersionExistsError: `model_dir/version` already exists (before or
            after the work inside the context: it is never overwritten).
        ValueError: `version` is not a positive integer.

    On any exception inside the context the temporary directory is removed
    and no version directory appears. Call it inside `exclusive(model_dir)`
    when other processes may export to the same directory.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            "A model version must be a positive integer (TF Serving only loads "
            f"integer-named directories). Received: version={version!r}"
        )
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final):
        raise VersionExistsError(
            f"Version {version} already exists at {final!r}; versions are never "
            f"overwritten. Use the next free version ({next_version(model_dir)}) "
            "or leave the version unset to get it automatically."
        )
    os.makedirs(model_dir, exist_ok=True)
    # Hidden and non-numeric: TF Serving ignores it while it is being written.
    temp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{version}-", dir=model_dir)
    try:
        # mkdtemp makes it 0700; a serving container running as another
        # user must be able to read the version, so apply the umask instead.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o777 & ~umask)
        yield temp
        if os.path.exists(final):
            raise VersionExistsError(
                f"Version {version} appeared at {final!r} while exporting "
                "(another exporter?); not overwriting it."
            )
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


@contextlib.contextmanager
def exclusive(model_dir, timeout=600.0):
    """Holds the export lock of `model_dir` (created if missing).

    Inside it no other exporter writes to `model_dir`, so stale `.tmp-*`
    directories of killed exporters are removed on entry, and the next free
    version cannot be taken by another process before it is written.

    Args:
        model_dir: `<serving_dir>/<model_name>`.
        timeout: seconds to wait for another exporter (an export takes
            seconds to a minute); then `TimeoutError`.
    """
    os.makedirs(model_dir, exist_ok=True)
    fd = os.open(os.path.join(model_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Another process has been exporting to {model_dir!r} for "
                        f"more than {timeout:g} s ({LOCK_FILE} is locked). Wait for "
                        "it or stop it, then export again."
                    ) from None
                time.sleep(0.2)
        _remove_temp_dirs(model_dir)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_stale_temp_dirs(model_dir):
    """Removes the hidden `.tmp-*` directories killed exporters left in
    `model_dir`, unless a live exporter holds the lock right now (its
    temporary directory is not stale). Returns the names removed."""
    path = os.path.join(model_dir, LOCK_FILE)
    if not os.path.isdir(model_dir):
        return []
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []  # a live exporter: its temporary directory is in use
        return _remove_temp_dirs(model_dir)
    finally:
        os.close(fd)


def _remove_temp_dirs(model_dir):
    removed = []
    for name in sorted(os.listdir(model_dir)):
        path = os.path.join(model_dir, name)
        if name.startswith(TEMP_PREFIX) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed


def find_version_with_fingerprint(model_dir, fingerprint):
    """The version whose `assets.extra/model_fingerprint` is `fingerprint`,
    or None."""
    for version in existing_versions(model_dir):
        try:
            with open(os.path.join(model_dir, str(version), FINGERPRINT_FILE)) as f:
                if f.read().strip() == fingerprint:
                    return version
        except OSError:
            continue
    return None
