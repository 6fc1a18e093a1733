"""minigrad.save / minigrad.load: exact round trips of nested state, no pickle, atomic writes,
and corrupt or truncated files refused with ValueError before anything is loaded."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.serialization import load, save


def _model() -> nn.Module:
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU6(), nn.Flatten(),
                         nn.Linear(8, 3))


def _trained_optimizer(model: nn.Module) -> optim.Optimizer:
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    for p in model.parameters():
        p.grad = minigrad.tensor(np.full(p.shape, 0.5, dtype=p.dtype))
    opt.step()
    return opt


def _assert_same(actual, expected) -> None:
    assert type(actual) is type(expected) or (
        isinstance(expected, minigrad.Tensor) and isinstance(actual, np.ndarray))
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            _assert_same(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _assert_same(a, e)
    elif isinstance(expected, (np.ndarray, np.generic, minigrad.Tensor)):
        expected = expected.data if isinstance(expected, minigrad.Tensor) else expected
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    else:
        assert actual == expected


def test_nested_checkpoint_round_trip_is_exact(tmp_path) -> None:
    model = _model()
    opt = _trained_optimizer(model)
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3, "best": 0.25, "name": "mobilenet ü", "done": False, "note": None,
        "huge": 2**70, "nan": math.nan, "scalar": np.float32(1.5),
        "tensor": minigrad.tensor(np.arange(6.0).reshape(2, 3)),
        "ints": np.arange(4, dtype=np.int16), "flags": np.array([True, False]),
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "a.b": np.ones(2), "a": {"b": np.zeros(2)},
    }
    save(checkpoint, tmp_path / "ckpt.npz")
    _assert_same(load(tmp_path / "ckpt.npz"), checkpoint)
    assert load(tmp_path / "ckpt.npz")["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_loaded_state_dicts_restore_a_model_and_an_optimizer(tmp_path) -> None:
    model = _model()
    opt = _trained_optimizer(model)
    save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.npz")
    minigrad.manual_seed(1)
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU6(), nn.Flatten(),
                          nn.Linear(8, 3))
    other_opt = optim.Adam(other.parameters(), lr=0.5)
    checkpoint = load(tmp_path / "c.npz")
    other.load_state_dict(checkpoint["model"])
    other_opt.load_state_dict(checkpoint["optimizer"])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
    assert other_opt.param_groups[0]["lr"] == 0.01
    first = next(iter(other.parameters()))
    np.testing.assert_array_equal(other_opt.state[first]["exp_avg"],
                                  opt.state[next(iter(model.parameters()))]["exp_avg"])


def test_object_array_is_refused_on_save_and_the_old_file_kept(tmp_path) -> None:
    path = tmp_path / "c.npz"
    save({"x": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"save: 'inner.bad' is an object array"):
        save({"inner": {"bad": np.array([{}, 1], dtype=object)}}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]


def test_unsupported_values_and_keys_raise_type_error(tmp_path) -> None:
    with pytest.raises(TypeError, match=r"save: cannot store set at 's'"):
        save({"s": {1, 2}}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="save: dict keys must be str or int"):
        save({(1, 2): 3}, tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()


def test_object_array_in_a_file_is_refused_on_load_without_unpickling(tmp_path) -> None:
    path = tmp_path / "c.npz"
    save({"x": np.ones(2)}, path)
    with np.load(path) as archive:
        structure = archive["__structure__"]
    np.savez(path, x=np.array([{"payload": 1}], dtype=object), __structure__=structure)
    with pytest.raises(ValueError, match=f"load: {path} is not a readable minigrad file"):
        load(path)


def _write_truncations(source, tmp_path) -> list:
    data = source.read_bytes()
    offsets = [0, 1, 30, 200, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 1]
    paths = []
    for offset in offsets:
        path = tmp_path / f"cut{offset}.npz"
        path.write_bytes(data[:offset])
        paths.append(path)
    return paths


def test_truncated_file_raises_value_error_and_the_model_is_unchanged(tmp_path) -> None:
    source = tmp_path / "model.npz"
    save(_model().state_dict(), source)
    minigrad.manual_seed(7)
    target = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU6(), nn.Flatten(),
                           nn.Linear(8, 3))
    before = {k: v.copy() for k, v in target.state_dict().items()}
    for path in _write_truncations(source, tmp_path):
        with pytest.raises(ValueError, match=f"load: {path} is not a readable"):
            target.load_state_dict(load(path))
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_flipped_bytes_raise_value_error(where, tmp_path) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.arange(2000.0), "meta": {"epoch": 1}}, path)
    data = bytearray(path.read_bytes())
    index = int(len(data) * where)
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not a readable minigrad file"):
        load(path)


def test_files_not_written_by_save_raise_value_error(tmp_path) -> None:
    text = tmp_path / "text.npz"
    text.write_text("not an archive at all")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weight=np.ones(3))
    for path in (text, single, foreign):
        with pytest.raises(ValueError, match=f"load: {path} is not a readable"):
            load(path)


def test_exception_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.zeros(3)}, path)
    before = path.read_bytes()
    real_write = np.lib.format.write_array

    def write_then_fail(file, array, **kwargs):
        real_write(file, array, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"], np.zeros(3))


def test_save_replaces_an_existing_file(tmp_path) -> None:
    path = tmp_path / "c.npz"
    save({"w": np.zeros(3)}, path)
    save([np.ones(2), 5], str(path))
    result = load(str(path))
    assert isinstance(result, list) and result[1] == 5
    np.testing.assert_array_equal(result[0], np.ones(2))


def test_load_of_a_text_file_says_what_is_wrong_without_suggesting_pickle(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("epoch 3, loss 0.21\n")
    with pytest.raises(ValueError, match=rf"^load: {path} is not a readable minigrad file: it "
                                         r"starts with b'epoc'") as info:
        load(path)
    assert "pickle" not in str(info.value)


def test_load_of_a_pickled_array_says_it_is_never_unpickled(tmp_path) -> None:
    path = tmp_path / "c.npz"
    save({"x": np.ones(2)}, path)
    with np.load(path) as archive:
        structure = archive["__structure__"]
    np.savez(path, x=np.array([{"payload": 1}], dtype=object), __structure__=structure)
    with pytest.raises(ValueError, match=r"'x' is an object \(pickled\) array, which minigrad "
                                         r"never loads") as info:
        load(path)
    assert "allow_pickle" not in str(info.value)


def test_a_container_that_contains_itself_is_a_clear_value_error(tmp_path) -> None:
    loop: dict = {"epoch": 3}
    loop["history"] = [1, loop]
    with pytest.raises(ValueError, match=r"^save: 'history.1' contains itself"):
        save(loop, tmp_path / "c.npz")
    chain: list = []
    for _ in range(5000):
        chain = [chain]
    with pytest.raises(ValueError, match=r"^save: the object is nested too deeply"):
        save(chain, tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()
    shared = np.ones(2)
    save({"a": [shared], "b": [shared]}, tmp_path / "c.npz")  # shared, not cyclic: fine
    assert set(load(tmp_path / "c.npz")) == {"a", "b"}


@pytest.mark.parametrize("function", [lambda p: save({}, p), load], ids=["save", "load"])
def test_a_path_that_is_not_a_path_is_a_type_error(function) -> None:
    with pytest.raises(TypeError, match=r"^(save|load): path must be a str or os.PathLike, "
                                        r"got NoneType"):
        function(None)
