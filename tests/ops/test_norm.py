import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad.nn.functional import batch_norm
from tests import helpers

# every test here runs on the reference kernels and on the fast ones
pytestmark = pytest.mark.usefixtures("kernels")

# a grid of distinct values 0.025 apart: every channel has a spread, so its variance is not 0
spread_values = st.integers(-400, 400).map(lambda k: k / 40)
coefficients = st.floats(-3, 3, allow_nan=False, width=64)


@st.composite
def batch_norm_inputs(draw):
    """x of shape (N, C), (N, C, L) or (N, C, H, W) with ≥ 2 values per channel, and (C,) γ, β."""
    spatial = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    n = draw(st.integers(1 if math.prod(spatial) > 1 else 2, 3))
    channels = draw(st.integers(1, 3))
    x = draw(hnp.arrays(np.float64, (n, channels, *spatial), elements=spread_values, unique=True))
    weight = draw(hnp.arrays(np.float64, (channels,), elements=coefficients))
    bias = draw(hnp.arrays(np.float64, (channels,), elements=coefficients))
    return x, weight, bias


@st.composite
def running_stats(draw, channels: int):
    mean = draw(hnp.arrays(np.float64, (channels,), elements=coefficients))
    var = draw(hnp.arrays(np.float64, (channels,), elements=st.floats(0.1, 5, width=64)))
    return mean, var


def train_fn(affine: bool, eps: float = 1e-5):
    """batch_norm in train mode without running statistics, as a function of its tensors."""
    if affine:
        return lambda x, w, b: _call_train(x, w, b, eps)
    return lambda x: _call_train(x, None, None, eps)


def _call_train(x, w, b, eps):
    op = TF.batch_norm if isinstance(x, torch.Tensor) else batch_norm
    return op(x, None, None, w, b, training=True, eps=eps)


def eval_fn(mean: np.ndarray, var: np.ndarray):
    """batch_norm in eval mode with fixed running statistics, for minigrad and torch."""
    def mg(x, w, b):
        return batch_norm(x, mean, var, w, b, training=False)

    def th(x, w, b):
        return TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=False)

    return mg, th


@given(case=batch_norm_inputs(), affine=st.booleans())
def test_batch_norm_train_forward_matches_torch(case, affine):
    arrays = list(case) if affine else [case[0]]
    helpers.check_forward_matches_torch(train_fn(affine), train_fn(affine), arrays)


@given(case=batch_norm_inputs(), affine=st.booleans())
def test_batch_norm_train_backward_matches_torch(case, affine):
    arrays = list(case) if affine else [case[0]]
    helpers.check_backward_matches_torch(train_fn(affine), train_fn(affine), arrays, atol=1e-9)


@given(case=batch_norm_inputs(), affine=st.booleans())
def test_batch_norm_train_backward_matches_finite_differences(case, affine):
    arrays = list(case) if affine else [case[0]]
    helpers.check_finite_differences(train_fn(affine), arrays)


@given(case=batch_norm_inputs(), data=st.data())
def test_batch_norm_eval_forward_matches_torch(case, data):
    mg, th = eval_fn(*data.draw(running_stats(case[0].shape[1])))
    helpers.check_forward_matches_torch(mg, th, list(case))


@given(case=batch_norm_inputs(), data=st.data())
def test_batch_norm_eval_backward_matches_torch(case, data):
    mg, th = eval_fn(*data.draw(running_stats(case[0].shape[1])))
    helpers.check_backward_matches_torch(mg, th, list(case))


@given(case=batch_norm_inputs(), data=st.data())
def test_batch_norm_eval_backward_matches_finite_differences(case, data):
    mg, _ = eval_fn(*data.draw(running_stats(case[0].shape[1])))
    helpers.check_finite_differences(mg, list(case))


def composed_batch_norm(x, weight, bias, eps):
    """Train-mode BatchNorm from core Tensor ops; weight and bias shaped (C, 1, ...)."""
    axes = (0, *range(2, x.ndim))
    centred = x - x.mean(dim=axes, keepdim=True)
    var = x.var(dim=axes, correction=0, keepdim=True)
    return centred / (var + eps).sqrt() * weight + bias


@given(case=batch_norm_inputs(), eps=st.sampled_from([1e-5, 1e-3, 0.5]))
def test_batch_norm_train_matches_composition_of_core_ops(case, eps):
    x, weight, bias = case
    column = (-1,) + (1,) * (x.ndim - 2)  # (C,) -> (C, 1, ...) to broadcast over (N, C, ...)
    fused = helpers.to_minigrad([x, weight, bias])
    composed = helpers.to_minigrad([x, weight.reshape(column), bias.reshape(column)])
    upstream = np.random.default_rng(0).standard_normal(x.shape)
    y_fused = batch_norm(*fused[:1], None, None, *fused[1:], training=True, eps=eps)
    y_composed = composed_batch_norm(*composed, eps)
    y_fused.backward(upstream)
    y_composed.backward(upstream)
    helpers.assert_close(y_fused, y_composed.data, atol=1e-9, name="forward")
    for name, a, b in zip(("x", "weight", "bias"), fused, composed):
        helpers.assert_close(a.grad, b.grad.data.reshape(a.shape), atol=1e-9, name=name)


def _step_inputs(rng, shape, affine, dtype=np.float64):
    channels = shape[1]
    x = rng.normal(0.5, 2.0, shape).astype(dtype)
    weight, bias = rng.normal(1, 0.5, channels), rng.normal(0, 0.5, channels)
    return [x, weight.astype(dtype), bias.astype(dtype)] if affine else [x]


def _bn_step(op, tensors, stats, training, momentum, upstream):
    x, *params = tensors
    weight, bias = params if params else (None, None)
    y = op(x, *stats, weight, bias, training=training, momentum=momentum)
    y.backward(upstream if op is TF.batch_norm else upstream.numpy())
    return y


def _compare_steps(shape, affine, momentum, dtype, atol, rtol):
    """Five train steps then one eval step, each against torch: outputs, gradients, stats."""
    rng = np.random.default_rng(7)
    channels = shape[1]
    mg_stats = [minigrad.zeros(channels, dtype=dtype), minigrad.ones(channels, dtype=dtype)]
    torch_stats = [torch.tensor(s.data) for s in mg_stats]
    for step in range(6):
        arrays = _step_inputs(rng, shape, affine, dtype)
        upstream = torch.tensor(rng.standard_normal(shape).astype(dtype))
        mg_inputs, torch_inputs = helpers.to_minigrad(arrays), helpers.to_torch(arrays)
        training = step < 5
        y = _bn_step(batch_norm, mg_inputs, mg_stats, training, momentum, upstream)
        expected = _bn_step(TF.batch_norm, torch_inputs, torch_stats, training, momentum, upstream)
        helpers.assert_close(y, expected, atol, rtol, f"step {step} output")
        for name, a, b in zip(("x", "weight", "bias"), mg_inputs, torch_inputs):
            helpers.assert_close(a.grad, b.grad, atol, rtol, f"step {step} gradient of {name}")
        for name, a, b in zip(("running_mean", "running_var"), mg_stats, torch_stats):
            helpers.assert_close(a, b, atol, rtol, f"step {step} {name}")


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 4)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0])
def test_batch_norm_train_steps_then_eval_match_torch(shape, affine, momentum):
    _compare_steps(shape, affine, momentum, np.float64, atol=1e-10, rtol=1e-7)


@pytest.mark.parametrize("shape", [(64, 5), (8, 4, 32), (4, 6, 9, 9)])
def test_batch_norm_float32_matches_torch(shape):
    _compare_steps(shape, True, 0.1, np.float32, atol=2e-5, rtol=2e-4)


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
def test_batch_norm_in_batch_chunks_matches_torch(monkeypatch, threads):
    # one sample per chunk, the chunks shared out over the threads however small the work:
    # every statistic and gradient sum is then assembled from per-chunk parts
    monkeypatch.setattr(minigrad.fast.threads, "CHUNK_BYTES", 1)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    _compare_steps((5, 3, 4, 4), True, 0.1, np.float64, atol=1e-10, rtol=1e-7)


def test_batch_norm_float32_statistics_survive_a_large_offset(rng):
    x = rng.normal(300.0, 0.5, (16, 4, 8, 8)).astype(np.float32)
    mg_stats = [minigrad.zeros(4), minigrad.ones(4)]
    torch_stats = [torch.zeros(4), torch.ones(4)]
    y = batch_norm(minigrad.tensor(x), *mg_stats, training=True, momentum=1.0)
    expected = TF.batch_norm(torch.tensor(x), *torch_stats, training=True, momentum=1.0)
    assert y.dtype == np.float32
    helpers.assert_close(y, expected, atol=1e-3, rtol=1e-3, name="output")
    helpers.assert_close(mg_stats[1], torch_stats[1], atol=0, rtol=1e-3, name="running_var")
    np.testing.assert_allclose(y.data.std(axis=(0, 2, 3)), 1.0, rtol=1e-3)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_weight_gradient_without_input_gradient(training, rng):
    x, weight, bias = rng.standard_normal((4, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    upstream = rng.standard_normal(x.shape)
    mg_w, mg_b = helpers.to_minigrad([weight, bias])
    torch_w, torch_b = helpers.to_torch([weight, bias])
    y = batch_norm(minigrad.tensor(x), mean.copy(), var.copy(), mg_w, mg_b, training=training)
    expected = TF.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var), torch_w,
                             torch_b, training=training)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    helpers.assert_close(mg_w.grad, torch_w.grad, name="weight")
    helpers.assert_close(mg_b.grad, torch_b.grad, name="bias")


def test_batch_norm_updates_array_running_stats_in_place_under_no_grad(rng):
    x = rng.standard_normal((5, 2, 3))
    mean, var = np.zeros(2), np.ones(2)
    with minigrad.no_grad():
        batch_norm(minigrad.tensor(x), mean, var, training=True, momentum=0.5)
    np.testing.assert_allclose(mean, 0.5 * x.mean(axis=(0, 2)))
    np.testing.assert_allclose(var, 0.5 + 0.5 * x.var(axis=(0, 2), ddof=1))


def test_batch_norm_eval_leaves_running_stats_unchanged(rng):
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    stats = [minigrad.tensor(mean), minigrad.tensor(var)]
    batch_norm(minigrad.tensor(rng.standard_normal((5, 2))), *stats, training=False)
    np.testing.assert_array_equal(stats[0].data, mean)
    np.testing.assert_array_equal(stats[1].data, var)


def test_batch_norm_running_update_invalidates_graphs_that_saved_the_stats(rng):
    running_mean = minigrad.zeros(3, dtype="float64")
    running_var = minigrad.ones(3, dtype="float64")
    w = minigrad.tensor(rng.standard_normal(3), requires_grad=True)
    product = w * running_mean  # saves running_mean's array for backward
    batch_norm(minigrad.tensor(rng.standard_normal((4, 3))), running_mean, running_var,
               training=True)
    with pytest.raises(RuntimeError, match="modified in place"):
        product.sum().backward()


def test_batch_norm_train_input_gradient_is_orthogonal_to_shift_and_scale(rng):
    x = minigrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = batch_norm(x, None, None, training=True, eps=1e-12)
    y.backward(rng.standard_normal((4, 3)))
    # the output does not change when a channel is shifted or (as eps -> 0) scaled, so dx is
    # orthogonal to both directions: Σ dx = 0 and Σ dx·x̂ = 0 per channel (y is x̂ here)
    np.testing.assert_allclose(x.grad.data.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose((x.grad.data * y.data).sum(axis=0), 0, atol=1e-9)


def _stats(channels=3):
    return minigrad.zeros(channels), minigrad.ones(channels)


def _assert_stats_untouched(stats):
    np.testing.assert_array_equal(stats[0].data, 0)
    np.testing.assert_array_equal(stats[1].data, 1)


@pytest.mark.parametrize("name", ["running_mean", "running_var", "weight", "bias"])
def test_batch_norm_rejects_channel_mismatch(name):
    stats = _stats()
    args = {"running_mean": stats[0], "running_var": stats[1], "weight": minigrad.ones(3),
            "bias": minigrad.zeros(3)}
    args[name] = minigrad.full((4,), 2.0)
    before = {key: value.data.copy() for key, value in args.items()}
    with pytest.raises(ValueError, match=rf"^batch_norm: {name} has shape \(4,\), expected \(3,\) "
                                         r"for x of shape \(2, 3, 5\)"):
        batch_norm(minigrad.randn(2, 3, 5), training=True, **args)
    for key, value in args.items():
        np.testing.assert_array_equal(value.data, before[key], err_msg=key)


def test_batch_norm_rejects_rank_below_two():
    stats = _stats()
    message = r"^batch_norm: x must have shape \(N, C, \.\.\.\), got \(3,\)"
    with pytest.raises(ValueError, match=message):
        batch_norm(minigrad.randn(3), *stats, training=True)
    _assert_stats_untouched(stats)


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan")])
def test_batch_norm_rejects_non_positive_eps(eps):
    stats = _stats()
    with pytest.raises(ValueError, match=f"^batch_norm: eps must be > 0, got {eps}"):
        batch_norm(minigrad.randn(4, 3), *stats, training=True, eps=eps)
    _assert_stats_untouched(stats)


@pytest.mark.parametrize("momentum", [-0.1, 1.5, float("nan")])
def test_batch_norm_rejects_momentum_outside_unit_interval(momentum):
    stats = _stats()
    message = rf"^batch_norm: momentum must be in \[0, 1\], got {momentum}"
    with pytest.raises(ValueError, match=message):
        batch_norm(minigrad.randn(4, 3), *stats, training=True, momentum=momentum)
    _assert_stats_untouched(stats)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_batch_norm_rejects_one_value_per_channel_in_training(shape):
    stats = _stats()
    with pytest.raises(ValueError, match="^batch_norm: expected more than 1 value per channel"):
        batch_norm(minigrad.randn(*shape), *stats, training=True)
    _assert_stats_untouched(stats)
    assert batch_norm(minigrad.randn(*shape), *stats, training=False).shape == shape


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4, 4)])
def test_batch_norm_eval_of_empty_batch_is_empty(shape, rng):
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    mg, th = eval_fn(mean, var)
    helpers.check_forward_matches_torch(mg, th, [np.zeros(shape), np.ones(3), np.zeros(3)])
    helpers.check_backward_matches_torch(mg, th, [np.zeros(shape), np.ones(3), np.zeros(3)])


def test_batch_norm_eval_needs_running_stats():
    with pytest.raises(ValueError, match="^batch_norm: running_mean and running_var are needed"):
        batch_norm(minigrad.randn(4, 3), None, None, training=False)


def test_batch_norm_rejects_only_one_running_stat():
    stats = _stats()
    with pytest.raises(ValueError, match="^batch_norm: give both running_mean and running_var"):
        batch_norm(minigrad.randn(4, 3), stats[0], None, training=True)
    _assert_stats_untouched(stats)


def test_batch_norm_rejects_non_tensor_input():
    with pytest.raises(TypeError, match="^batch_norm: expected a Tensor, got ndarray"):
        batch_norm(np.zeros((4, 3)), *_stats(), training=True)


def test_batch_norm_rejects_array_weight():
    message = "^batch_norm: weight must be a Tensor or None, got ndarray"
    with pytest.raises(TypeError, match=message):
        batch_norm(minigrad.randn(4, 3), *_stats(), np.ones(3), training=True)


def test_batch_norm_rejects_mismatched_dtype():
    stats = _stats()
    message = "^batch_norm: running_mean has dtype float32, x has float64"
    with pytest.raises(TypeError, match=message):
        batch_norm(minigrad.randn(4, 3, dtype="float64"), *stats, training=True)
    _assert_stats_untouched(stats)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf − inf
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_batch_norm_under_detect_anomaly_leaves_running_stats_untouched(bad, rng):
    # issue 18: the error comes before the running statistics are updated
    x = rng.standard_normal((4, 3, 2))
    x[1, 0, 1] = bad
    stats = [minigrad.zeros(3, dtype="float64"), minigrad.ones(3, dtype="float64")]
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError, match="BatchNormFunction"):
        batch_norm(minigrad.tensor(x), *stats, training=True)
    np.testing.assert_array_equal(stats[0].data, 0.0)
    np.testing.assert_array_equal(stats[1].data, 1.0)


def test_batch_norm_layer_under_detect_anomaly_keeps_its_state(rng):
    layer = minigrad.nn.BatchNorm2d(3)
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    x[0, 2, 1, 1] = np.nan
    before = {key: np.array(value) for key, value in layer.state_dict().items()}
    with minigrad.detect_anomaly(), pytest.raises(FloatingPointError):
        layer(minigrad.tensor(x))
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
