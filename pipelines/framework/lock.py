"""`RunLock`: one pipeline process at a time per pipeline root or served model.

The lock is `fcntl.flock(LOCK_EX)` on a small file that also names its
holder (pid, host, start time, command) for the error a second process
prints. The kernel releases a flock when the process holding it exits, in
any way (SIGKILL, a crash, a lost container), so a killed run's lock never
has to be cleaned up: the next run acquires it at once. The file itself
stays (removing a lock file while others may open it is what makes such
schemes racy); its content is only read while someone holds the lock.

flock is reliable on local file systems; on NFS it depends on the mount
(NFSv4 maps it to byte-range locks).
"""

import fcntl
import json
import os
import socket
import sys
import time

from pipelines.framework.errors import PipelineError


class LockHeldError(PipelineError):
    """Another live process holds the lock."""


class RunLock:
    """An exclusive, process-wide lock on `path`, as a context manager.

    Args:
        path: the lock file (created, with its directory, if missing).
        what: what it protects, for messages, e.g. "--pipeline_root /x".
        wait: seconds to wait for the holder to finish (0: fail at once).
        poll: seconds between attempts while waiting.

    Raises (on enter):
        LockHeldError: still held by another process after `wait` seconds;
            the message names the holder's pid, host and start time.
    """

    def __init__(self, path, what, wait=0.0, poll=0.2):
        self.path = os.fspath(path)
        self.what = what
        self.wait = float(wait)
        self.poll = poll
        self._fd = None

    def acquire(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockHeldError(self._held_message(holder)) from None
                time.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))
        self._fd = fd
        try:
            holder = json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "command": " ".join(sys.argv)[:500],
                }
            )
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        except OSError:
            pass  # A full disk: the lock holds all the same, only unnamed.
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # Closing the descriptor releases the flock.
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    @property
    def held(self):
        return self._fd is not None

    def _held_message(self, holder):
        who = "another process"
        if holder:
            who = (
                f"process {holder.get('pid')} on {holder.get('host')} "
                f"(started {holder.get('started')}: {holder.get('command')})"
            )
        waited = f" after waiting {self.wait:g} s" if self.wait > 0 else ""
        return (
            f"{self.what} is in use by {who}{waited}; lock file {self.path}. "
            "Two runs in the same pipeline root or pushing the same model would "
            "overwrite each other's work. Wait for it to finish (pass "
            "--wait_for_lock=SECONDS to wait), stop it, or use another "
            "--pipeline_root / --model_name. A killed run's lock is released "
            "by the kernel: nothing to clean up."
        )


def _read_holder(fd):
    try:
        data = os.pread(fd, 4096, 0)
        return json.loads(data.decode()) if data else None
    except (OSError, ValueError):
        return None
