"""Replace a file atomically: readers see the old file or the complete new one, never a part.

The new bytes go to a temporary file next to the target, named `.<target name>.<16 hex>.tmp`,
which is fsynced and renamed over the target (then the folder is fsynced, so the rename itself
survives a crash). Around that:

- a symlink is written through: the file it points to is replaced, the link stays a link;
- the target keeps its permission bits (a 0600 file stays 0600); a new file gets the mode a
  plain `open()` would give it (0666 less the umask);
- a writer holds an exclusive `flock` on its temporary file until the rename, so the temporary
  files of the same target left by a writer that died (SIGKILL, power loss) are the unlocked
  ones: each save removes them first. Where locks are unavailable (no `fcntl`, or a file
  system without `flock`), a temporary file counts as stale once it is an hour old.

The folder must be writable (the temporary file is created there), as for any atomic save.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

PathLike = str | os.PathLike
_UNLOCKED_STALE_AFTER = 3600.0  # seconds, only where locks are unavailable


def write_atomically(path: PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(file)` on a fresh temporary file and put it in place of `path` once
    complete; if anything fails (or the process is interrupted) `path` is untouched."""
    target = os.path.realpath(os.fspath(path))
    directory, name = os.path.split(target)
    remove_stale_temporaries(target)
    temp, descriptor = _locked_temporary(directory, name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            _keep_mode(temp, target)
            os.fsync(file.fileno())
            os.replace(temp, target)  # while still locked: no cleaner can take it for stale
    except BaseException:
        _unlink_quietly(temp)
        raise
    _fsync_directory(directory)


def temporary_name_pattern(target: str) -> re.Pattern[str]:
    """The names of the temporary files of `target` (a file name, not a path)."""
    return re.compile(re.escape(f".{target}.") + "[0-9a-f]{16}" + re.escape(".tmp"))


def remove_stale_temporaries(target: str) -> list[str]:
    """Remove the temporary files of `target` (a resolved path) that no live writer holds;
    returns their paths."""
    directory, name = os.path.split(target)
    pattern = temporary_name_pattern(name)
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    removed = []
    for candidate in names:
        path = os.path.join(directory, candidate)
        if pattern.fullmatch(candidate) and _is_stale(path):
            _unlink_quietly(path)
            removed.append(path)
    return removed


def _locked_temporary(directory: str, name: str) -> tuple[str, int]:
    """A new temporary file (path, descriptor), locked, and still linked once locked.

    A cleaner may unlink a file in the instant between its creation and its lock; then the
    lock is taken on an unlinked file (`st_nlink == 0`) and a new name is tried."""
    while True:
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            except OSError:  # a file system without flock: cleaners fall back to the age
                pass
        if os.fstat(descriptor).st_nlink > 0:
            return temp, descriptor
        os.close(descriptor)


def _is_stale(path: str) -> bool:
    """No writer holds `path`'s lock (or, without locks, it is an hour old)."""
    if fcntl is None:
        return _is_old(path)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # renamed or removed meanwhile
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:  # a live writer holds it
        return False
    except OSError:  # no flock on this file system
        return _is_old(path)
    finally:
        os.close(descriptor)


def _is_old(path: str) -> bool:
    try:
        return time.time() - os.stat(path).st_mtime > _UNLOCKED_STALE_AFTER
    except OSError:
        return False


def _keep_mode(temp: str, target: str) -> None:
    """Give the new file the target's permission bits (a new target keeps the umask mode)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temp, mode)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
