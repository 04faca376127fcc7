"""`GANCheckpoint` and `resume_or_start`: kill-safe training checkpoints.

A checkpoint holds every value training needs to continue exactly where it
stopped: both networks, both optimizers (moments, EMA weights, iteration
counters), the model's non-trainable state (the `SeedGenerator` state, the
replay pool, `instance_noise_std`), the epoch, and a signature of the set-up
(variable shapes, loss, training options, optimizer configs) that
`resume_or_start` compares before loading anything.

Layout of `directory`:

```
ckpt-000003/            one checkpoint per saved epoch (the number = epochs done)
  variables.npz         every variable value, in `checkpoint_variables` order
  checkpoint.json       epoch, step, variable paths/shapes, signature, sha256
ckpt-000004/
.tmp-ckpt-000005-<pid>-<token>-<host>/  a save in progress; never read
```

Each process removes only its own temporary folders, and those of processes
on the same host that are no longer alive (a killed save); another live
process's save in progress is never touched.

`checkpoint.json` also holds the training history (`fit`'s per-epoch logs)
of every epoch up to the checkpoint's, so a run resumed from it can report
its whole history (`read_history`).

A save writes into a `.tmp-` folder, flushes it to disk, then renames it
with `os.replace`, so a kill at any moment leaves either the complete
checkpoint or none. `checkpoint.json` is written last and holds the sha256
of `variables.npz`: a checkpoint damaged later (a full disk, a bad copy) is
detected, reported, and the previous one is used.

Why not `keras.callbacks.BackupAndRestore`: it keeps one checkpoint (two with
`double_checkpoint`), overwrites it in place (a kill during `save_weights`
leaves a truncated file), deletes it when `fit` ends, restores by
setting the private `model._initial_epoch`, and cannot tell a checkpoint of
another set-up from its own (Keras loads what matches and errors
generically). Its state coverage would have been enough: `model.optimizer`
here is the `GANOptimizer` holding both optimizers' variables.

Example:

```python
directory = "/runs/mnist/checkpoints"
initial_epoch = gankeras.callbacks.resume_or_start(gan, directory)
gan.fit(dataset, epochs=20, initial_epoch=initial_epoch,
        callbacks=[gankeras.callbacks.GANCheckpoint(directory, keep=3)])
```
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import warnings

import keras
import numpy as np

_FORMAT = "gankeras.checkpoint/1"
_NAME = re.compile(r"^ckpt-(\d{6})$")
_VALUES = "variables.npz"
_MANIFEST = "checkpoint.json"
_TMP_PREFIX = ".tmp-ckpt-"
_TMP_NAME = re.compile(r"^\.tmp-ckpt-\d{6}-(\d+)-[0-9a-f]{8}-(.+)$")


class CheckpointMismatchError(ValueError):
    """The checkpoint was made for other networks, a loss or options that
    differ from the model being resumed.

    `str(error)` is one line for a user: which checkpoint, what differs and
    what to do. Attributes: `path` (the checkpoint folder), `problems` (each
    difference, one string each), `directory` (the checkpoint directory).
    """

    def __init__(self, path, problems, saved_backend=None):
        self.path = os.fspath(path)
        self.directory = os.path.dirname(self.path)
        self.problems = list(problems)
        self.saved_backend = saved_backend
        shown = "; ".join(self.problems[:3])
        if len(self.problems) > 3:
            shown += f"; and {len(self.problems) - 3} more"
        backend = keras.backend.backend()
        where = (
            f" (written under the {saved_backend} backend; this process runs {backend})"
            if saved_backend and saved_backend != backend
            else ""
        )
        super().__init__(
            f"cannot resume from the checkpoint {self.path}: it was made for "
            f"another set-up{where}: {shown}. Resume with the networks and "
            "options the run was started with, or train into a new "
            f"directory (or delete {self.directory} to start over)."
        )


# ----------------------------------------------------------------------
# What a checkpoint holds
# ----------------------------------------------------------------------
def checkpoint_variables(gan):
    """Every variable a resumed run needs, in a fixed order.

    `gan.variables` (networks, seed state, replay pool, noise std) then
    `gan.optimizer.variables` (both optimizers' slots, EMA and counters).
    Metric trackers are left out: `fit` resets them every epoch.
    """
    if not getattr(gan, "compiled", False):
        raise ValueError(
            "Checkpoints hold the optimizers' state: compile the GAN before "
            "saving or resuming it (gan.compile(...))."
        )
    seen, variables = set(), []
    for v in list(gan.variables) + list(gan.optimizer.variables):
        if id(v) not in seen:
            seen.add(id(v))
            variables.append(v)
    return variables


def training_signature(gan):
    """The set-up a checkpoint belongs to, as JSON-ready data.

    Holds the loss, the `compile` training options, both optimizers' classes
    and configs (names left out: Keras numbers them per process), the latent
    size, the sample shape and the number of classes.
    """
    signature = {
        "latent_dim": gan.latent_dim,
        "image_shape": list(gan.image_shape),
        "num_classes": gan.num_classes,
        "loss": getattr(gan.adversarial_loss, "name", None),
        "training_config": gan.training_config,
    }
    for role in ("d_optimizer", "g_optimizer"):
        optimizer = getattr(gan, role)
        config = dict(optimizer.get_config())
        config.pop("name", None)
        signature[role] = {"class": type(optimizer).__name__, "config": config}
    # One JSON round trip so that tuples and numpy scalars compare equal to
    # what a manifest read back from disk holds.
    return json.loads(json.dumps(signature, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


# ----------------------------------------------------------------------
# Finding and reading checkpoints
# ----------------------------------------------------------------------
def list_checkpoints(directory):
    """Complete checkpoint folders in `directory`, oldest first (by epoch)."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _NAME.match(name)
        if match and os.path.isdir(os.path.join(directory, name)):
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return [path for _, path in sorted(found)]


def read_checkpoint(path):
    """Reads and verifies one checkpoint folder.

    Returns:
        `(manifest, values)`: the `checkpoint.json` dict and the list of
        numpy arrays in `checkpoint_variables` order.

    Raises:
        OSError, ValueError: the checkpoint is partial or corrupt (missing
            file, bad JSON, checksum mismatch, unreadable arrays).
    """
    with open(os.path.join(path, _MANIFEST)) as f:
        manifest = json.load(f)
    if manifest.get("format") != _FORMAT:
        raise ValueError(
            f"{path} is not a {_FORMAT} checkpoint. Received format {manifest.get('format')!r}."
        )
    values_path = os.path.join(path, _VALUES)
    digest = _sha256(values_path)
    if digest != manifest["sha256"]:
        raise ValueError(
            f"{values_path} does not match its checksum (expected "
            f"{manifest['sha256'][:12]}..., computed {digest[:12]}...): the "
            "file was damaged after it was written."
        )
    with np.load(values_path, allow_pickle=False) as data:
        values = [data[f"v{i:05d}"] for i in range(len(manifest["variables"]))]
    return manifest, values


def check_compatible(gan, manifest, path):
    """Raises `CheckpointMismatchError` naming every difference between the
    checkpoint at `path` and `gan` (variable shapes, loss, options)."""
    problems = []
    expected = manifest["signature"]
    received = training_signature(gan)
    for key in sorted(set(expected) | set(received)):
        if expected.get(key) != received.get(key):
            problems.append(
                f"{key}: checkpoint has {_describe(expected.get(key), received.get(key))}"
            )
    variables = checkpoint_variables(gan)
    saved = manifest["variables"]
    if len(saved) != len(variables):
        problems.append(
            f"the checkpoint holds {len(saved)} variables, the model has "
            f"{len(variables)} (networks, optimizers or replay buffer differ)"
        )
    shapes = [
        f"variable #{i} is {entry['path']!r} of shape {tuple(entry['shape'])} "
        f"in the checkpoint but {v.path!r} of shape {tuple(v.shape)} in the model"
        for i, (entry, v) in enumerate(zip(saved, variables))
        if tuple(entry["shape"]) != tuple(v.shape)
    ]
    if shapes:
        more = f" (and {len(shapes) - 1} more of another shape)" if len(shapes) > 1 else ""
        problems.append(shapes[0] + more)
    if problems:
        raise CheckpointMismatchError(path, problems, manifest.get("backend"))


def _describe(expected, received):
    if isinstance(expected, dict) and isinstance(received, dict):
        diffs = [
            f"{k}={expected.get(k)!r}, the model has {k}={received.get(k)!r}"
            for k in sorted(set(expected) | set(received))
            if expected.get(k) != received.get(k)
        ]
        return "; ".join(diffs)
    return f"{expected!r}, the model has {received!r}"


def restore(gan, path):
    """Loads the checkpoint at `path` into `gan` after checking it matches.

    Returns:
        The checkpoint's manifest (`manifest["epoch"]` epochs were done).
    """
    manifest, values = read_checkpoint(path)
    _load(gan, manifest, values, path)
    return manifest


def _load(gan, manifest, values, path):
    check_compatible(gan, manifest, path)
    for v, value in zip(checkpoint_variables(gan), values):
        v.assign(value)


def resume_or_start(gan, directory, verbose=1):
    """Restores the newest usable checkpoint in `directory`, if any.

    Checks that `directory` can be written (so a run fails now, not at its
    first save), then tries checkpoints newest first: a partial or corrupt
    one is reported with a warning and skipped; one made for another set-up
    raises `CheckpointMismatchError`.

    Args:
        gan: a compiled `gankeras.GAN`, built exactly as for the original run.
        directory: the `GANCheckpoint` directory.
        verbose: print which checkpoint was restored.

    Returns:
        The epoch to pass to `fit(initial_epoch=...)`: the number of epochs
        the restored checkpoint had completed, or 0 when starting afresh.
    """
    ensure_writable(directory)
    for path in reversed(list_checkpoints(directory)):
        try:
            manifest, values = read_checkpoint(path)
        except (OSError, ValueError, KeyError, EOFError) as error:
            warnings.warn(
                f"Skipping corrupt or partial checkpoint {path}: {error}. Trying the previous one.",
                stacklevel=2,
            )
            continue
        _load(gan, manifest, values, path)
        if verbose:
            print(f"Resumed from {path} (epoch {manifest['epoch']}, step {manifest['step']}).")
        return int(manifest["epoch"])
    return 0


def ensure_writable(directory):
    """Creates `directory` and checks a file can be written in it.

    Raises:
        OSError: naming the directory and the reason, before any training.
    """
    probe = os.path.join(directory, f".write-test-{os.getpid()}")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise OSError(
            f"Cannot write checkpoints to {directory!r}: {error}. Pass a "
            "directory this process can create and write."
        ) from error


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----------------------------------------------------------------------
# Training history kept with the checkpoints
# ----------------------------------------------------------------------
def read_history(directory, epoch=None):
    """The training history stored with a checkpoint.

    Args:
        directory: the `GANCheckpoint` directory.
        epoch: the checkpoint of this many epochs; None: the newest one
            whose `checkpoint.json` can be read.

    Returns:
        `{metric: [one float per epoch]}` as `fit`'s `History.history`,
        for epochs 1..epoch (`{}` when there is no such checkpoint). A
        checkpoint saved by a run that was started with `initial_epoch=k`
        without resuming from this directory holds epochs k+1.. only; its
        `history_first_epoch` says so.
    """
    manifest = _read_manifest(directory, epoch)
    return {} if manifest is None else dict(manifest.get("history", {}))


def _read_manifest(directory, epoch=None):
    paths = list_checkpoints(directory)
    if epoch is not None:
        paths = [p for p in paths if os.path.basename(p) == f"ckpt-{int(epoch):06d}"]
    for path in reversed(paths):
        try:
            with open(os.path.join(path, _MANIFEST)) as f:
                return json.load(f)
        except (OSError, ValueError):
            continue
    return None


# ----------------------------------------------------------------------
# Temporary folders of saves in progress
# ----------------------------------------------------------------------
def _tmp_name(epochs_done):
    """`.tmp-ckpt-<epoch>-<pid>-<random token>-<host>`: unique to this save."""
    return f"{_TMP_PREFIX}{int(epochs_done):06d}-{os.getpid()}-{secrets.token_hex(4)}-{_host()}"


def _host():
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def remove_stale_temporary(directory):
    """Removes the temporary folders of saves that can no longer finish.

    Only folders named by this module, written on this host by a process
    that is not alive any more (a save killed mid-way). This process's own
    leftovers are not touched here (the save that made them removes them
    when it fails), nor is anything another live process is writing.

    Returns:
        The names removed.
    """
    removed = []
    host = _host()
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _TMP_NAME.match(name)
        if not match or match.group(2) != host:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        removed.append(name)
    return removed


# ----------------------------------------------------------------------
# The callback
# ----------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="gankeras")
class GANCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint of a `gankeras.GAN` every few epochs.

    Pair it with `resume_or_start(gan, directory)` before `fit`. Saves are
    atomic (see the module docstring) and only the newest `keep`
    checkpoints are kept. A checkpoint is written only when every saved
    value is finite, so a diverged run never replaces the last good one.
    Each checkpoint also holds the history of every epoch so far
    (`read_history`), the epochs before a resume included.

    Nothing touches the file system until training starts: the directory
    is created and checked to be writable in `on_train_begin`.

    Args:
        directory: folder for the checkpoints.
        keep: number of newest checkpoints to keep (>= 1).
        every_n_epochs: save after every n-th epoch, and after the last one.
        verbose: print a line per save.
    """

    def __init__(self, directory, keep=3, every_n_epochs=1, verbose=0):
        super().__init__()
        if int(keep) < 1:
            raise ValueError(f"`keep` must be >= 1. Received: keep={keep}")
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1. Received: every_n_epochs={every_n_epochs}"
            )
        self.directory = os.fspath(directory)
        self.keep = int(keep)
        self.every_n_epochs = int(every_n_epochs)
        self.verbose = int(verbose)
        self._history = None

    def on_train_begin(self, logs=None):
        ensure_writable(self.directory)
        remove_stale_temporary(self.directory)
        self._history = None  # read at the first epoch, once its number is known

    def on_epoch_begin(self, epoch, logs=None):
        if self._history is None:
            self._history = self._history_before(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self._history is None:
            self._history = self._history_before(epoch)
        self._history["epochs"].append(epoch + 1)
        for name, value in (logs or {}).items():
            self._history["logs"].setdefault(name, []).append(float(value))
        epochs_done = epoch + 1
        last = self.params.get("epochs") if self.params else None
        if epochs_done % self.every_n_epochs and epochs_done != last:
            return
        self.save(epochs_done)

    def _history_before(self, epoch):
        """The history of epochs 1..epoch from the checkpoint of `epoch`
        epochs (the one a resumed run started from), if there is one."""
        history = {"epochs": [], "logs": {}}
        manifest = _read_manifest(self.directory, epoch) if epoch else None
        if manifest is not None and "history" in manifest:
            first = int(manifest.get("history_first_epoch", 1))
            count = int(manifest["epoch"]) - first + 1
            history["epochs"] = list(range(first, first + count))
            history["logs"] = {k: list(v) for k, v in manifest["history"].items()}
        return history

    def save(self, epochs_done):
        """Writes `ckpt-<epochs_done>` atomically and prunes old ones.

        Returns:
            The checkpoint's path, or None when the state was not finite.
        """
        gan = self.model  # On JAX, reading `self.model` syncs its state.
        variables = checkpoint_variables(gan)
        values = [np.array(v) for v in variables]  # np.array: works for tf.distribute variables too
        bad = [
            v.path
            for v, value in zip(variables, values)
            if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value))
        ]
        if bad:
            warnings.warn(
                f"Not saving epoch {epochs_done}: non-finite values in "
                f"{bad[:3]}. The last good checkpoint stays in {self.directory}.",
                stacklevel=2,
            )
            return None
        os.makedirs(self.directory, exist_ok=True)
        name = f"ckpt-{epochs_done:06d}"
        final = os.path.join(self.directory, name)
        tmp = os.path.join(self.directory, _tmp_name(epochs_done))
        os.makedirs(tmp)
        try:
            self._write(tmp, gan, variables, values, epochs_done)
            if os.path.exists(final):  # Re-saving an epoch after a resume.
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # only this save's folder
            raise
        _fsync_dir(self.directory)
        for old in list_checkpoints(self.directory)[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        if self.verbose:
            print(f"Saved {final} (step {self._step(gan)}).")
        return final

    @staticmethod
    def _step(gan):
        return int(keras.ops.convert_to_numpy(gan.optimizer.iterations))

    def _write(self, tmp, gan, variables, values, epochs_done):
        values_path = os.path.join(tmp, _VALUES)
        with open(values_path, "wb") as f:
            np.savez(f, **{f"v{i:05d}": value for i, value in enumerate(values)})
            f.flush()
            os.fsync(f.fileno())
        manifest = {
            "format": _FORMAT,
            "epoch": int(epochs_done),
            "step": self._step(gan),
            "backend": keras.backend.backend(),
            "variables": [
                {"path": v.path, "shape": list(v.shape), "dtype": str(value.dtype)}
                for v, value in zip(variables, values)
            ],
            "signature": training_signature(gan),
            "sha256": _sha256(values_path),
        }
        history = self._history
        if history is not None and history["epochs"] and history["epochs"][-1] == epochs_done:
            manifest["history"] = history["logs"]
            manifest["history_first_epoch"] = history["epochs"][0]
        with open(os.path.join(tmp, _MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {
            "directory": self.directory,
            "keep": self.keep,
            "every_n_epochs": self.every_n_epochs,
            "verbose": self.verbose,
        }
