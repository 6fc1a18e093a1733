"""Checkpoint safety through `save`/`load` and `load_state_dict`: truncated files, object
arrays and wrong shapes are refused with a clear error and leave the model and optimizer as
they were; an interrupted save leaves the previous checkpoint intact. (The basic cases are in
tests/test_serialization.py; these add random offsets, whole training checkpoints, hostile
payloads and interruptions at other points of the write.)"""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn, optim
from tests.reliability.world import World, assert_unchanged, make_world, snapshot


def _checkpoint(world: World) -> dict:
    return {"model": world.model.state_dict(), "optimizer": world.opt.state_dict(), "epoch": 4}


def _restore(world: World, path) -> None:
    checkpoint = minigrad.load(path)
    world.model.load_state_dict(checkpoint["model"])
    world.opt.load_state_dict(checkpoint["optimizer"])


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory) -> bytes:
    """A training checkpoint of another run (other seed) than the world's."""
    path = tmp_path_factory.mktemp("ckpt") / "run.npz"
    world = make_world(seed=5)
    minigrad.save(_checkpoint(world), path)
    return path.read_bytes()


@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_a_checkpoint_truncated_anywhere_is_refused_and_nothing_changes(
        saved_bytes, tmp_path_factory, fraction):
    path = tmp_path_factory.mktemp("cut") / "cut.npz"
    offset = int(fraction * len(saved_bytes))
    path.write_bytes(saved_bytes[:offset])
    world = make_world()
    before = snapshot(world)
    with pytest.raises(ValueError, match=f"^load: {path} is not a readable minigrad file"):
        _restore(world, path)
    assert_unchanged(before, snapshot(world))


def test_the_whole_checkpoint_restores_a_model_and_its_optimizer(saved_bytes, tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(saved_bytes)
    world = make_world()
    before = snapshot(world)
    _restore(world, path)
    for key, value in minigrad.load(path)["model"].items():
        np.testing.assert_array_equal(world.model.state_dict()[key], value)
    with pytest.raises(AssertionError):  # the checkpoint differs, so a partial load would show
        assert_unchanged(before, snapshot(world))


def _wider_world_checkpoint(path) -> None:
    minigrad.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU6(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(minigrad.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)


def test_a_checkpoint_with_wrong_shapes_is_refused_and_nothing_changes(tmp_path):
    path = tmp_path / "wide.npz"
    _wider_world_checkpoint(path)
    world = make_world()
    before = snapshot(world)
    checkpoint = minigrad.load(path)
    with pytest.raises(RuntimeError) as info:
        world.model.load_state_dict(checkpoint["model"])
    message = str(info.value)
    assert message.startswith("load_state_dict: Error(s) in loading state_dict")
    assert "size mismatch for 0.weight: copying a param with shape (6, 3, 3, 3)" in message
    assert "size mismatch for 1.running_mean" in message and "(4,)" in message
    with pytest.raises(ValueError, match=r"^SGD.load_state_dict: .* has shape \(6, 3, 3, 3\)"):
        world.opt.load_state_dict(checkpoint["optimizer"])
    assert_unchanged(before, snapshot(world))


class _Payload:
    """Unpickling this would create a file: proof that loading ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_object_array_in_a_checkpoint_is_refused_without_running_it(tmp_path):
    path, marker = tmp_path / "hostile.npz", tmp_path / "ran"
    world = make_world()
    minigrad.save(_checkpoint(world), path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert "model.0.weight.npy" in members
    hostile = np.array([_Payload(str(marker))], dtype=object)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name == "model.0.weight.npy":
                with archive.open(name, "w") as member:
                    np.lib.format.write_array(member, hostile, allow_pickle=True)
            else:
                archive.writestr(name, data)
    before = snapshot(world)
    with pytest.raises(ValueError, match=f"^load: {path} is not a readable minigrad file"):
        _restore(world, path)
    assert not marker.exists()
    assert_unchanged(before, snapshot(world))
    pickle.loads(pickle.dumps(_Payload(str(marker))))
    assert marker.exists()  # the payload is live: a plain unpickler does run it


def _interrupt_on_call(monkeypatch, module, name: str, call: int, error: BaseException):
    real = getattr(module, name)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)


@pytest.mark.parametrize("where", ["third array", "fsync", "rename"])
def test_an_interrupted_save_keeps_the_old_checkpoint(where, tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    world = make_world()
    minigrad.save(_checkpoint(world), path)
    old = path.read_bytes()
    world.opt.step()  # a newer state to save over the old one
    points = {"third array": (np.lib.format, "write_array", 3, KeyboardInterrupt()),
              "fsync": (os, "fsync", 1, OSError("I/O error")),
              "rename": (os, "replace", 1, OSError("disk full"))}
    module, name, call, error = points[where]
    _interrupt_on_call(monkeypatch, module, name, call, error)
    with pytest.raises(type(error)):
        minigrad.save(_checkpoint(world), path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]  # no temporary file left behind
    assert minigrad.load(path)["epoch"] == 4
