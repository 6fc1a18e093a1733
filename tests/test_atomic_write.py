"""Both savers (`minigrad.save`, `minigrad.save_torch`) replace their target atomically: a save
killed at any point leaves the old file whole, the next save removes the dead writer's
temporary file (and no live writer's), the target keeps its permissions, and a symlink is
written through."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad.atomic_write import temporary_name_pattern

ROOT = Path(__file__).resolve().parents[1]

SAVERS = {
    "save": (minigrad.save, lambda path: minigrad.load(path)["w"]),
    "save_torch": (minigrad.save_torch, lambda path: minigrad.load_torch(path)["w"]),
}


@pytest.fixture(params=list(SAVERS))
def saver(request):
    return request.param


def _save(saver: str, value: float, path) -> None:
    SAVERS[saver][0]({"w": np.full(4, value, dtype=np.float32)}, path)


def _value(saver: str, path) -> float:
    return float(SAVERS[saver][1](path)[0])


def _temporaries(folder: Path, target: str) -> list[str]:
    pattern = temporary_name_pattern(target)
    return sorted(name for name in os.listdir(folder) if pattern.fullmatch(name))


KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import minigrad
    saver, path, where = sys.argv[1:]
    save = getattr(minigrad, saver)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    class DiesMidWrite:
        \"\"\"A file that is killed once 1 MiB is written, half way through a write.\"\"\"
        def __init__(self, file):
            self.file, self.written = file, 0
        def write(self, data):
            self.written += len(data)
            if self.written > 1 << 20:
                self.file.write(bytes(data)[: len(data) // 2])
                self.file.flush()
                die()
            return self.file.write(data)
        def __getattr__(self, name):
            return getattr(self.file, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

    if where == "write":
        real_fdopen = os.fdopen
        os.fdopen = lambda *a, **k: DiesMidWrite(real_fdopen(*a, **k))
    else:
        setattr(os, where, die)
    save({"w": np.full(1 << 20, 2.0, dtype=np.float32)}, path)  # 4 MiB
""")


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_save_killed_before_the_rename_keeps_the_old_file_and_its_temporary_is_removed(
        saver, where, tmp_path) -> None:
    path = tmp_path / "model.ckpt"
    _save(saver, 1.0, path)
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, saver, str(path), where],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
                          capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    assert _value(saver, path) == 1.0  # the old file, whole
    left = _temporaries(tmp_path, "model.ckpt")
    assert len(left) == 1 and (tmp_path / left[0]).stat().st_size > 2**19
    _save(saver, 3.0, path)
    assert _value(saver, path) == 3.0
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt"]


def test_an_exception_mid_write_keeps_the_old_file_and_leaves_nothing(saver, tmp_path,
                                                                      monkeypatch) -> None:
    path = tmp_path / "model.ckpt"
    _save(saver, 1.0, path)

    def full_disk(descriptor):
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _save(saver, 2.0, path)
    monkeypatch.undo()
    assert _value(saver, path) == 1.0
    assert os.listdir(tmp_path) == ["model.ckpt"]


def test_a_live_writers_temporary_is_left_alone(saver, tmp_path) -> None:
    path = tmp_path / "model.ckpt"
    live = tmp_path / f".model.ckpt.{'ab' * 8}.tmp"
    dead = tmp_path / f".model.ckpt.{'cd' * 8}.tmp"
    other = [tmp_path / f".other.ckpt.{'ef' * 8}.tmp", tmp_path / ".model.ckpt.backup.tmp"]
    for file in (live, dead, *other):
        file.write_bytes(b"partial")
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        _save(saver, 1.0, path)
        assert live.exists() and not dead.exists()
        assert all(file.exists() for file in other)
    _save(saver, 2.0, path)  # the writer is gone now: its file is stale
    assert not live.exists() and all(file.exists() for file in other)
    assert _value(saver, path) == 2.0


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_the_target_keeps_its_permissions(saver, mode, tmp_path) -> None:
    path = tmp_path / "model.ckpt"
    _save(saver, 1.0, path)
    os.chmod(path, mode)
    _save(saver, 2.0, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert _value(saver, path) == 2.0


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_gets_the_umask_mode(saver, umask, tmp_path) -> None:
    old = os.umask(umask)
    try:
        _save(saver, 1.0, tmp_path / "model.ckpt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "model.ckpt").st_mode) == 0o666 & ~umask


def test_a_symlink_is_written_through_and_stays_a_link(saver, tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "epoch3.ckpt"
    link = tmp_path / "latest.ckpt"
    _save(saver, 1.0, real)
    os.chmod(real, 0o600)
    link.symlink_to(os.path.join("runs", "epoch3.ckpt"))
    _save(saver, 2.0, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("runs", "epoch3.ckpt")
    assert _value(saver, real) == 2.0
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path / "runs")) == ["epoch3.ckpt"]


def test_a_dangling_symlink_gets_its_target_created(saver, tmp_path) -> None:
    link = tmp_path / "latest.ckpt"
    link.symlink_to(tmp_path / "new.ckpt")
    _save(saver, 5.0, link)
    assert link.is_symlink() and _value(saver, tmp_path / "new.ckpt") == 5.0


def test_without_flock_saves_work_and_only_hour_old_temporaries_count_as_stale(
        saver, tmp_path, monkeypatch) -> None:
    import errno
    import time

    from minigrad import atomic_write

    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(atomic_write.fcntl, "flock", no_locks)
    path = tmp_path / "model.ckpt"
    recent = tmp_path / f".model.ckpt.{'ab' * 8}.tmp"
    old = tmp_path / f".model.ckpt.{'cd' * 8}.tmp"
    for file in (recent, old):
        file.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    _save(saver, 4.0, path)
    assert recent.exists() and not old.exists()
    assert _value(saver, path) == 4.0
