"""Module hooks against torch's: forward pre-hooks, forward hooks and full backward hooks are
called with the same arguments, replace what torch replaces, and go away with `remove()`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad import nn
from tests.helpers import assert_close


def _linear_twins(rng, n_in=3, n_out=2):
    ours, theirs = nn.Linear(n_in, n_out).double(), torch.nn.Linear(n_in, n_out).double()
    weight, bias = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)
    ours.load_state_dict({"weight": weight, "bias": bias})
    theirs.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
    return ours, theirs


def _shapes(grads):
    return [None if g is None else tuple(g.shape) for g in grads]


def _values(grads):
    return [None if g is None else np.asarray(g.detach().numpy() if isinstance(g, torch.Tensor)
                                              else g.data) for g in grads]


@pytest.mark.parametrize("lib", ["minigrad", "torch"])
def test_forward_pre_hook_sees_args_and_may_replace_them(lib, rng):
    module = nn.ReLU() if lib == "minigrad" else torch.nn.ReLU()
    x = minigrad.tensor([-1.0, 2.0]) if lib == "minigrad" else torch.tensor([-1.0, 2.0])
    seen = []
    handle = module.register_forward_pre_hook(lambda m, args: seen.append((m, args)))
    module(x)
    assert seen[0][0] is module and isinstance(seen[0][1], tuple) and seen[0][1][0] is x
    module.register_forward_pre_hook(lambda m, args: args[0] * -1)  # a single value
    assert module(x).tolist() == [1.0, 0.0]
    assert len(seen) == 2
    handle.remove()
    module(x)
    assert len(seen) == 2


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_forward_hooks_replace_the_output_in_order_and_see_kwargs(lib):
    module = (nn if lib is minigrad else torch.nn).Identity()
    calls = []
    module.register_forward_hook(lambda m, args, out: out + 1)
    module.register_forward_hook(lambda m, args, out: calls.append(("first", out.tolist())),
                                 prepend=True)
    module.register_forward_hook(lambda m, args, kwargs, out: calls.append((args, kwargs)) or
                                 out * 10, with_kwargs=True)
    out = module(lib.tensor([1.0]))
    assert out.tolist() == [20.0]
    assert calls[0] == ("first", [1.0])
    assert calls[1][0][0].tolist() == [1.0] and calls[1][1] == {}


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_forward_pre_hook_with_kwargs_replaces_args_and_kwargs(lib):
    class Scale((nn if lib is minigrad else torch.nn).Module):
        def forward(self, x, factor=1.0):
            return x * factor

    module = Scale()
    module.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), {"factor": 3.0}),
                                     with_kwargs=True)
    assert module(lib.tensor([1.0]), factor=2.0).tolist() == [6.0]


@pytest.mark.parametrize("lib", [minigrad, torch])
def test_always_called_forward_hook_runs_when_forward_raises(lib):
    class Broken((nn if lib is minigrad else torch.nn).Module):
        def forward(self, x):
            raise KeyError("inside")

    module, seen = Broken(), []
    module.register_forward_hook(lambda m, args, out: seen.append(out), always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append("not always"))
    with pytest.raises(KeyError):
        module(lib.zeros(1))
    assert seen == [None]


def test_handles_remove_once_and_work_as_context_managers():
    module = nn.Identity()
    with module.register_forward_hook(lambda m, a, o: o + 1) as handle:
        assert module(minigrad.zeros(1)).item() == 1.0
    assert module(minigrad.zeros(1)).item() == 0.0
    handle.remove()  # a second remove is harmless, as torch
    other = module.register_forward_hook(lambda m, a, o: o)
    assert other.id != handle.id


def test_full_backward_hook_sees_torch_gradients(rng):
    ours, theirs = _linear_twins(rng)
    seen = {}
    ours.register_full_backward_hook(lambda m, gi, go: seen.update(ours=(m, gi, go)))
    theirs.register_full_backward_hook(lambda m, gi, go: seen.update(theirs=(m, gi, go)))
    x = rng.standard_normal((4, 3))
    upstream = rng.standard_normal((4, 2))
    mx, tx = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(mx).backward(upstream)
    theirs(tx).backward(torch.tensor(upstream))
    (m, gi, go), (_, tgi, tgo) = seen["ours"], seen["theirs"]
    assert m is ours and isinstance(gi, tuple) and isinstance(go, tuple)
    for a, b in zip(_values(gi) + _values(go), _values(tgi) + _values(tgo)):
        assert_close(a, b)


def test_full_backward_hook_result_replaces_grad_input_upstream_only(rng):
    ours, theirs = _linear_twins(rng)
    ours.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    theirs.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    x = rng.standard_normal((4, 3))
    mx, tx = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(mx) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    assert_close(mx.grad, tx.grad, name="input gradient (replaced)")
    assert_close(ours.weight.grad, theirs.weight.grad, name="weight gradient (untouched)")


def test_full_backward_hook_with_several_inputs_and_outputs_matches_torch(rng):
    def twin(base):
        class Mixed(base.Module):
            def forward(self, x, k, y):
                return x * k + y.sum(), y * 2

        return Mixed()

    ours, theirs, seen = twin(nn), twin(torch.nn), {}
    ours.register_full_backward_hook(lambda m, gi, go: seen.update(ours=(gi, go)))
    theirs.register_full_backward_hook(lambda m, gi, go: seen.update(theirs=(gi, go)))
    x, y, u = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((2, 3))
    ours(minigrad.tensor(x, requires_grad=True), 2.0, minigrad.tensor(y))[0].backward(u)
    theirs(torch.tensor(x, requires_grad=True), 2.0, torch.tensor(y))[0].backward(
        torch.tensor(u))
    (gi, go), (tgi, tgo) = seen["ours"], seen["theirs"]
    assert _shapes(gi) == _shapes(tgi) == [(2, 3), None, (3,)]
    assert _shapes(go) == _shapes(tgo) == [(2, 3), None]
    for a, b in zip(_values(gi) + _values(go), _values(tgi) + _values(tgo)):
        if b is not None:
            assert_close(a, b)


def test_full_backward_hook_of_a_first_layer_gets_none_for_its_input(rng):
    ours, theirs = _linear_twins(rng)
    seen = []
    ours.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    ours(minigrad.tensor(rng.standard_normal((4, 3)))).sum().backward()
    assert seen[0][0] == (None,) and _shapes(seen[0][1]) == [(4, 2)]
    assert ours.weight.grad is not None


def test_full_backward_hook_on_a_child_inside_a_model(rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    handle = model[1].register_full_backward_hook(lambda m, gi, go: seen.append(m))
    model(minigrad.randn(5, 3, requires_grad=True)).sum().backward()
    assert seen == [model[1]]
    handle.remove()
    model(minigrad.randn(5, 3, requires_grad=True)).sum().backward()
    assert len(seen) == 1


def test_full_backward_hook_returning_the_wrong_count_raises_as_torch(rng):
    ours, _ = _linear_twins(rng)
    ours.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    out = ours(minigrad.randn(2, 3, dtype="float64", requires_grad=True)).sum()
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but "
                                           "expected 1"):
        out.backward()


def test_no_backward_hook_runs_under_no_grad(rng):
    ours, _ = _linear_twins(rng)
    ours.register_full_backward_hook(lambda m, gi, go: pytest.fail("called"))
    with minigrad.no_grad():
        out = ours(minigrad.randn(2, 3, dtype="float64", requires_grad=True))
    assert not out.requires_grad


def test_register_hook_rejects_a_non_callable():
    with pytest.raises(TypeError, match="^register_forward_hook: expected a callable hook, "
                                        "got int"):
        nn.ReLU().register_forward_hook(3)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")  # torch's
@pytest.mark.parametrize("inputs_need_grad", [True, False])
def test_full_backward_pre_hook_replaces_grad_output_as_torch(rng, inputs_need_grad):
    ours, theirs = _linear_twins(rng)
    seen = {}
    for name, module in (("ours", ours), ("theirs", theirs)):
        module.register_full_backward_pre_hook(lambda m, go: (go[0] * 10,))
        module.register_full_backward_hook(lambda m, gi, go, name=name: seen.update({name: go}))
    x, upstream = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    mx = minigrad.tensor(x, requires_grad=inputs_need_grad)
    tx = torch.tensor(x, requires_grad=inputs_need_grad)
    ours(mx).backward(upstream)
    theirs(tx).backward(torch.tensor(upstream))
    assert_close(seen["ours"][0], seen["theirs"][0], name="grad_output after the pre-hook")
    assert_close(ours.weight.grad, theirs.weight.grad, name="weight gradient")
    if inputs_need_grad:
        assert_close(mx.grad, tx.grad, name="input gradient")


def test_full_backward_pre_hook_returning_the_wrong_count_raises_as_torch(rng):
    ours, _ = _linear_twins(rng)
    ours.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_output, got 2, but "
                                           "expected 1"):
        ours(minigrad.randn(2, 3, dtype="float64")).sum().backward()


def test_hooks_on_a_fused_conv_norm_activation_unit_see_their_calls(rng):
    model = minigrad.models.mobilenet_v2(num_classes=4, width_mult=0.25, small_input=True)
    model.eval()
    x = minigrad.tensor(rng.standard_normal((1, 3, 8, 8)).astype(np.float32))
    plain = model(x).data.copy()
    unit = model.features[0]  # conv, BatchNorm2d, ReLU6: normally one fused op
    seen = []
    for layer in unit:
        layer.register_forward_hook(lambda m, args, out: seen.append(type(m).__name__))
    np.testing.assert_array_equal(model(x).data, plain)
    assert seen == ["Conv2d", "BatchNorm2d", "ReLU6"]
