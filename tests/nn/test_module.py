"""Module registration, iteration, modes, dtype conversion, state dicts and repr, checked
against a torch twin built from the same code; and the containers."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from minigrad.nn.module import IncompatibleKeys, ModuleNameError


def make_net(lib):
    """The same small net in minigrad (`lib = minigrad.nn`) or torch (`lib = torch.nn`):
    Sequential, Conv2d, BatchNorm2d, Linear, nested modules, a ModuleList, an OrderedDict."""

    class Block(lib.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.dw = lib.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
            self.bn = lib.BatchNorm2d(c)
            self.act = lib.ReLU6()
            self.pw = lib.Sequential(lib.Conv2d(c, c, 1), lib.BatchNorm2d(c))

        def forward(self, x):
            return x + self.pw(self.act(self.bn(self.dw(x))))

    class Net(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = lib.Sequential(lib.Conv2d(3, 4, 3, stride=2, padding=1, bias=False),
                                       lib.BatchNorm2d(4), lib.Hardswish())
            self.blocks = lib.ModuleList([Block(4), Block(4)])
            self.head = lib.Sequential(OrderedDict(
                pool=lib.AdaptiveAvgPool2d(1), flat=lib.Flatten(), drop=lib.Dropout(0.2),
                fc=lib.Linear(4, 5)))

        def forward(self, x):
            x = self.stem(x)
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    return Net()


def torch_state(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in net.state_dict().items()}


def snapshot(net: nn.Module) -> dict[str, tuple[np.ndarray, int]]:
    """Every tensor's array (copied) and version, to prove nothing changed."""
    return {k: (t.data.copy(), t._version.value)
            for k, t in net.state_dict(keep_vars=True).items()}


def assert_unchanged(net: nn.Module, before: dict[str, tuple[np.ndarray, int]]) -> None:
    for key, tensor in net.state_dict(keep_vars=True).items():
        np.testing.assert_array_equal(tensor.data, before[key][0], err_msg=key)
        assert tensor._version.value == before[key][1], key


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b = nn.Parameter(np.zeros(2))
        self.register_buffer("stat", np.ones(3))
        self.child = nn.Linear(2, 2)
        self.a = nn.Parameter(np.zeros(1))
        self.register_buffer("scratch", np.zeros(1), persistent=False)
        self.plain = 3


def test_registration_keeps_insertion_order():
    m = Mixed()
    assert list(m._parameters) == ["b", "a"]
    assert list(m._buffers) == ["stat", "scratch"]
    assert list(m._modules) == ["child"]
    assert [n for n, _ in m.named_parameters()] == ["b", "a", "child.weight", "child.bias"]
    assert list(m.state_dict()) == ["b", "a", "stat", "child.weight", "child.bias"]
    assert "plain" in m.__dict__ and "plain" not in m._parameters


def test_getattr_and_delattr_reach_registered_names():
    m = Mixed()
    assert m.stat is m._buffers["stat"] and isinstance(m.stat, minigrad.Tensor)
    assert m.child is m._modules["child"]
    del m.a, m.scratch, m.child
    assert list(m._parameters) == ["b"] and list(m._buffers) == ["stat"] and not m._modules
    with pytest.raises(AttributeError, match="'Mixed' object has no attribute 'a'"):
        _ = m.a
    assert {"b", "stat", "plain", "forward" if hasattr(m, "forward") else "train"} <= set(dir(m))


def test_reassigning_moves_a_name_between_registries():
    m = Mixed()
    m.stat = minigrad.tensor(np.zeros(3))  # stays a buffer
    assert "stat" in m._buffers and m.stat.data.sum() == 0
    m.stat = nn.Parameter(np.zeros(3))  # becomes a parameter
    assert "stat" in m._parameters and "stat" not in m._buffers
    m.b = nn.Parameter(np.ones(2))  # a new parameter keeps the old position
    assert list(m._parameters) == ["b", "a", "stat"]
    m.b = None
    assert m.b is None and "b" in m._parameters and "b" not in m.state_dict()
    with pytest.raises(TypeError, match="parameter 'a'"):
        m.a = minigrad.tensor([1.0])
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = 3


def test_buffers_never_require_grad_and_are_not_parameters():
    m = Mixed()
    m.register_buffer("tracked", minigrad.tensor([1.0, 2.0], requires_grad=True))
    assert not m.tracked.requires_grad
    param_ids = {id(p) for p in m.parameters()}
    assert all(id(b) not in param_ids for b in m.buffers())
    net = make_net(nn)
    assert {id(p) for p in net.parameters()}.isdisjoint(id(b) for b in net.buffers())
    assert len(list(net.buffers())) == 3 * 5


def test_bad_names_and_values_are_rejected():
    m = Mixed()
    for bad in ("", "a.b"):
        with pytest.raises(ModuleNameError):
            m.register_buffer(bad, np.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("plain", None)
    with pytest.raises(ValueError, match="already exists"):
        m.register_buffer("child", None)
    with pytest.raises(TypeError, match="name must be a str"):
        m.register_module(3, nn.ReLU())
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", minigrad.tensor([1.0]))
    with pytest.raises(TypeError, match="buffer 'x'"):
        m.register_buffer("x", [1, 2])


def test_assigning_a_parameter_before_init_raises():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_module_without_forward_cannot_be_called():
    with pytest.raises(TypeError, match="no forward"):
        nn.Module()(1)


def test_names_match_the_torch_twin():
    net, twin = make_net(nn), make_net(torch.nn)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in twin.named_buffers()]
    assert list(net.state_dict()) == list(twin.state_dict())
    assert [n for n, _ in net.named_modules()] == [n for n, _ in twin.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in twin.named_children()]
    assert [type(m).__name__ for m in net.modules()] == [type(m).__name__ for m in twin.modules()]
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in twin.state_dict().items()}


def test_repr_matches_torch():
    assert repr(make_net(nn)) == repr(make_net(torch.nn))


def test_torch_state_dict_loads_and_outputs_match():
    net, twin = make_net(nn).double(), make_net(torch.nn).double()
    twin.train()(torch.randn(4, 3, 8, 8, dtype=torch.float64))  # non-trivial running stats
    result = net.load_state_dict(torch_state(twin))
    assert result == IncompatibleKeys([], []) and result.missing_keys == []
    for key, value in torch_state(twin).items():
        np.testing.assert_array_equal(net.state_dict()[key], value, err_msg=key)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    out = net.eval()(minigrad.tensor(x))
    expected = twin.eval()(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_minigrad_state_dict_loads_into_torch():
    minigrad.manual_seed(3)
    net, twin = make_net(nn), make_net(torch.nn)
    net(minigrad.randn(4, 3, 8, 8))  # a training step moves the running stats
    state = net.state_dict()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key], err_msg=key)
    assert int(twin.stem[1].num_batches_tracked) == 1


def test_state_dict_values_are_copies():
    net = make_net(nn)
    state = net.state_dict()
    state["head.fc.weight"][...] = 7.0
    assert not np.any(net.head.fc.weight.data == 7.0)
    assert net.state_dict(keep_vars=True)["head.fc.weight"] is net.head.fc.weight


def test_load_state_dict_copies_into_existing_arrays_with_their_dtype():
    net = make_net(nn)
    weight = net.head.fc.weight
    array, version = weight.data, weight._version.value
    state = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
             for k, v in torch_state(make_net(torch.nn)).items()}
    state["head.fc.weight"] = minigrad.tensor(np.full((5, 4), 0.25))
    net.load_state_dict(state)
    assert weight.data is array and weight.dtype == np.float32
    assert weight._version.value == version + 1
    np.testing.assert_array_equal(weight.data, 0.25)
    assert net.stem[1].num_batches_tracked.dtype == np.int64


def test_failed_load_changes_nothing_and_lists_every_problem():
    net = make_net(nn)
    before = snapshot(net)
    state = torch_state(make_net(torch.nn))
    del state["stem.1.running_var"], state["head.fc.bias"]
    state["extra.weight"] = np.zeros(3, dtype=np.float32)
    state["head.fc.weight"] = np.zeros((5, 3), dtype=np.float32)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert message.startswith("load_state_dict: Error(s) in loading state_dict for Net")
    for part in ('"stem.1.running_var"', '"head.fc.bias"', '"extra.weight"',
                 "size mismatch for head.fc.weight", "(5, 3)", "(5, 4)"):
        assert part in message
    assert_unchanged(net, before)


def test_non_strict_load_returns_the_key_lists_but_still_checks_shapes():
    net = make_net(nn)
    state = torch_state(make_net(torch.nn))
    del state["head.fc.bias"]
    state["extra"] = np.zeros(1)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["head.fc.bias"], ["extra"])
    np.testing.assert_array_equal(net.head.fc.weight.data, state["head.fc.weight"])
    before = snapshot(net)
    state["head.fc.weight"] = np.zeros((2, 2))
    with pytest.raises(RuntimeError, match="size mismatch for head.fc.weight"):
        net.load_state_dict(state, strict=False)
    assert_unchanged(net, before)


def test_load_rejects_values_that_are_not_arrays():
    net = nn.Linear(2, 2)
    before = snapshot(net)
    with pytest.raises(RuntimeError, match="while copying weight"):
        net.load_state_dict({"weight": "abc", "bias": np.zeros(2)})
    with pytest.raises(TypeError, match="load_state_dict: expected a mapping"):
        net.load_state_dict([("weight", np.zeros((2, 2)))])
    assert_unchanged(net, before)


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    m = Mixed()
    assert "scratch" in dict(m.named_buffers()) and "scratch" not in m.state_dict()
    m.load_state_dict(m.state_dict())


def test_shared_parameters_are_listed_once_but_saved_under_each_name():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    twin_shared = torch.nn.Linear(3, 3)
    twin = torch.nn.Sequential(twin_shared, torch.nn.ReLU(), twin_shared)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert list(net.state_dict()) == list(twin.state_dict())
    assert len(list(net.modules())) == len(list(twin.modules())) == 3


def test_train_and_eval_recurse_and_return_self():
    net = make_net(nn)
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.blocks[1].eval()
    assert [m.training for m in net.blocks[1].modules()] == [False] * 7
    assert net.blocks[0].bn.training
    with pytest.raises(ValueError, match="mode must be a bool"):
        net.train("no")


def test_train_goes_through_overridden_train_methods():
    class FrozenNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm2d(2)

        def train(self, mode: bool = True) -> nn.Module:
            super().train(mode)
            self.bn.eval()  # statistics stay frozen
            return self

    net = nn.Sequential(nn.Linear(2, 2), FrozenNorm())
    net.train()
    assert net.training and net[0].training and net[1].training and not net[1].bn.training


def test_to_float64_keeps_parameter_objects():
    net = make_net(nn)
    net(minigrad.randn(2, 3, 8, 8)).sum().backward()
    params = list(net.parameters())
    assert net.to(minigrad.float64) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    bn = net.stem[1]
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    assert net.float() is net and net.head.fc.weight.dtype == np.float32
    net.double()
    assert net.head.fc.bias.dtype == np.float64
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to(minigrad.int64)


def test_zero_grad_requires_grad_and_apply():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    net(minigrad.randn(4, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    visited: list[str] = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Linear", "Linear", "Sequential"]


def test_deepcopy_gives_an_independent_module():
    net = make_net(nn)
    clone = copy.deepcopy(net)
    clone.head.fc.weight.data[...] = 0
    assert np.any(net.head.fc.weight.data != 0)
    assert list(clone.state_dict()) == list(net.state_dict())


def test_get_submodule_follows_dotted_paths():
    net = make_net(nn)
    assert net.get_submodule("blocks.1.pw.0") is net.blocks[1].pw[0]
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        net.get_submodule("blocks.nope")


def test_sequential_indexing_slicing_and_growth():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    assert list(head._modules) == ["1", "2"]  # slices keep their keys, as torch
    assert seq.append(nn.Tanh()) is seq and len(seq) == 4 and list(seq._modules)[-1] == "3"
    del seq[0]
    assert list(seq._modules) == ["0", "1", "2"] and seq[0] is layers[1]
    seq.insert(0, layers[0])
    assert seq[0] is layers[0] and len(seq) == 4
    with pytest.raises(IndexError):
        _ = seq[4]
    with pytest.raises(TypeError, match="is not a Module"):
        seq.append(3)


def test_sequential_chains_forward_and_takes_an_ordered_dict():
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU()))
    assert seq.fc is seq[0] and list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    x = minigrad.randn(4, 2)
    np.testing.assert_array_equal(seq(x).data, np.maximum(seq.fc(x).data, 0))


def test_module_list_is_a_registered_list():
    blocks = nn.ModuleList([nn.Linear(1, 1)])
    blocks.append(nn.Linear(1, 2))
    blocks.extend([nn.ReLU(), nn.Linear(2, 2)])
    blocks.insert(1, nn.Tanh())
    assert [type(b).__name__ for b in blocks] == ["Linear", "Tanh", "Linear", "ReLU", "Linear"]
    assert len(blocks) == 5 and isinstance(blocks[-1], nn.Linear)
    assert list(blocks.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                         "4.weight", "4.bias"]
    tail = blocks[3:]
    assert isinstance(tail, nn.ModuleList) and list(tail._modules) == ["0", "1"]
    assert blocks.pop(1).__class__ is nn.Tanh and len(blocks) == 4
    blocks[0] = nn.Identity()
    assert isinstance(blocks[0], nn.Identity)
    assert len(list(blocks.parameters())) == 4


def test_module_dict_registers_by_key():
    blocks = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU()})
    blocks["fc"] = nn.Linear(2, 1)
    assert list(blocks) == ["conv", "act", "fc"] and "act" in blocks and len(blocks) == 3
    assert blocks.conv is blocks["conv"]
    assert list(blocks.state_dict()) == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    twin = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(1, 2, 3), "act": torch.nn.ReLU(),
                                "fc": torch.nn.Linear(2, 1)})
    assert repr(blocks) == repr(twin)
    assert isinstance(blocks.pop("act"), nn.ReLU) and list(blocks.keys()) == ["conv", "fc"]
    with pytest.raises(TypeError, match="is not a Module"):
        blocks["x"] = 1
