"""One writer per store folder: an OS file lock on ``.store.lock``, which names its holder's pid.

The operating system drops the lock when its holder exits, however it exits (kill -9
included), so a lock file left by a dead process is simply taken over. Within one
process, a newer writer takes the store over from an idle older one (say, an
extraction interrupted in a notebook, whose writer is still referenced by the
traceback); the older writer then refuses to write.
"""

from __future__ import annotations

import errno
import os
import threading
import warnings
import weakref
from pathlib import Path

from probekit.errors import ProbekitError
from probekit.store.manifest import LOCK_NAME

__all__ = ["StoreLock"]

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

_HELD_ERRNOS = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLK", errno.EAGAIN)}
_HELD: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # realpath -> StoreLock
_GUARD = threading.Lock()


class StoreLock:
    """The exclusive lock of a store folder, held until :meth:`release` (or garbage collection).

    Parameters
    ----------
    directory : path-like
        The store folder; the lock file ``.store.lock`` (holding the pid) is made there.

    Attributes
    ----------
    revoked : bool
        True once a newer writer in this process took the folder over.
    busy : bool
        Set by the owner while it writes; a busy lock is never taken over.

    Raises
    ------
    ProbekitError
        Another live process (or a busy writer of this process) holds the folder.
    """

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_NAME
        self.key = os.path.realpath(directory)
        self.revoked = False
        self.busy = False
        self._fd: int | None = None
        with _GUARD:
            older = _HELD.get(self.key)
            if older is not None and older._fd is not None:
                if older.busy:
                    raise ProbekitError(f"another writer in this process (pid {os.getpid()}) is writing the "
                                        f"activation store in {str(directory)!r}; wait for it to finish")
                self._fd, older._fd, older.revoked = older._fd, None, True
            else:
                self._fd = _acquire(self.path, directory)
            _HELD[self.key] = self

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)  # before unlocking: a waiter then finds a fresh file (see _acquire)
        except OSError:
            pass
        os.close(fd)

    def __del__(self):
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _acquire(path: Path, directory) -> int:
    """Open, lock (non-blocking) and stamp the lock file; the open descriptor."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_fd(fd)
        except OSError as e:
            if e.errno not in _HELD_ERRNOS:  # a file system without locks (some network mounts)
                warnings.warn(f"cannot lock {str(path)!r} ({e.strerror or e}); a second writer into this "
                              "folder would not be detected", UserWarning, stacklevel=5)
                break
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ProbekitError(
                f"another process (pid {holder}) is writing the activation store in {str(directory)!r} "
                f"(lock file {str(path)!r}); wait for it to finish or stop it, or choose another output folder"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder released (and unlinked) it between our open and lock: retry
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _lock_fd(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
