"""Numbered model versions in the layout TF Serving watches.

TF Serving polls `<model_dir>/` and loads the highest integer-named
subdirectory `<model_dir>/<version>/`. It would happily load a half-written
one, so a version directory must appear complete or not at all: it is written
into a hidden temporary directory beside it (same file system) and moved into
place with one `os.rename`. Versions are never overwritten (as in TFX's
Pusher): asking for an existing number is an error.
"""

import contextlib
import os
import shutil
import tempfile


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
    """Raises `PermissionError` unless `model_dir` can be created and written.

    Checked before any (minutes-long) work so that a bad `--serving_dir`
    fails fast instead of after training.
    """
    probe_root = model_dir
    while not os.path.exists(probe_root):
        parent = os.path.dirname(os.path.abspath(probe_root))
        if parent == os.path.abspath(probe_root):
            break
        probe_root = parent
    if not os.path.isdir(probe_root) or not os.access(probe_root, os.W_OK | os.X_OK):
        raise PermissionError(
            f"Cannot write model versions under {model_dir!r}: "
            f"{probe_root!r} is not a writable directory. Expected a writable "
            "serving directory; pass another one (e.g. --serving_dir) or fix "
            "its permissions."
        )


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
    and no version directory appears.
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
    temp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir)
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
