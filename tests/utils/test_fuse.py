"""`utils.fuse_for_inference` (minigrad/utils/fuse.py): the fused copy of every MobileNet gives
the unfused eval outputs (and input gradients), shows its fused layers, leaves the original
alone, and refuses training mode."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import models, nn
from minigrad.utils import FusedConv2d, fuse_for_inference, summary

BUILDERS = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"]


def _model(name: str, width: float, dtype=np.float32) -> nn.Module:
    """A small-input MobileNet in eval mode whose BatchNorms have non-trivial statistics and
    affine parameters (fresh ones would fold to the identity)."""
    minigrad.manual_seed(0)
    model = getattr(models, name)(num_classes=10, width_mult=width, small_input=True)
    model.to(dtype)
    rng = np.random.default_rng(7)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.data[...] = rng.normal(0, 0.5, c)
            m.running_var.data[...] = rng.uniform(0.5, 2.0, c)
            m.weight.data[...] = rng.uniform(0.5, 1.5, c)
            m.bias.data[...] = rng.normal(0, 0.5, c)
    return model.eval()


def _run(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with minigrad.no_grad():
        return model(minigrad.tensor(x)).numpy()


def _batch(dtype, n: int = 3) -> np.ndarray:
    return np.random.default_rng(3).standard_normal((n, 3, 32, 32)).astype(dtype)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("width", [0.25, 0.5])
def test_fused_model_equals_unfused_eval_in_float64(name, width):
    model = _model(name, width, np.float64)
    fused = fuse_for_inference(model)
    x = _batch(np.float64)
    np.testing.assert_allclose(_run(fused, x), _run(model, x), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", BUILDERS)
def test_fused_model_equals_unfused_eval_in_float32(name):
    model = _model(name, 0.35)
    fused = fuse_for_inference(model)
    x = _batch(np.float32)
    expected = _run(model, x)
    actual = _run(fused, x)
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small"])
def test_input_gradient_through_the_fused_model_equals_the_unfused_one(name):
    model = _model(name, 0.25, np.float64)
    fused = fuse_for_inference(model)
    upstream = np.random.default_rng(4).standard_normal((2, 10))
    grads, outputs = [], []
    for m in (model, fused):
        x = minigrad.tensor(_batch(np.float64, 2), requires_grad=True)
        y = m(x)
        y.backward(upstream)
        grads.append(x.grad.numpy())
        outputs.append(y.detach().numpy())
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads[1], grads[0], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", BUILDERS)
def test_every_batch_norm_is_folded_and_shown_in_the_tree(name):
    model = _model(name, 0.25)
    fused = fuse_for_inference(model)
    n_norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    fused_convs = [m for m in fused.modules() if isinstance(m, FusedConv2d)]
    assert n_norms > 0 and len(fused_convs) == n_norms
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    text = repr(fused)
    assert text.count("FusedConv2d(") == n_norms
    assert text.count("folded=BatchNorm2d(") == n_norms
    # the activations that were taken in are shown in the fused layer's line
    with_activation = sum(m.activation is not None for m in fused_convs)
    shown = sum(f"activation={m.activation}" in repr(m) for m in fused_convs)
    assert with_activation > 0 and shown == with_activation


def test_tree_keeps_names_and_shapes_and_summary_counts_the_same_macs():
    model = _model("mobilenet_v2", 0.25)
    fused = fuse_for_inference(model)
    original = {k: v.shape for k, v in model.state_dict().items()}
    kept = fused.state_dict()
    # only the BatchNorms' entries are gone; each conv gained a bias
    gone = {k for k in original if k not in kept}
    assert all(".running_" in k or ".num_batches_tracked" in k or k.endswith((".weight", ".bias"))
               for k in gone)
    assert all(kept[k].shape == original[k] for k in kept if k in original)
    assert type(fused.features[0][0]) is FusedConv2d and type(fused.features[0][1]) is nn.Identity
    assert summary(fused, (3, 32, 32)).total_macs == summary(model, (3, 32, 32)).total_macs


def test_original_model_is_unchanged():
    model = _model("mobilenet_v3_small", 0.25)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    x = _batch(np.float32)
    expected = _run(model, x)
    fuse_for_inference(model)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(_run(model, x), expected)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_copy_is_eval_only_and_needs_no_grad():
    fused = fuse_for_inference(_model("mobilenet_v2", 0.25))
    assert not fused.training
    assert not any(p.requires_grad for p in fused.parameters())
    # no graph is recorded for an input that does not require grad
    assert _run(fused, _batch(np.float32)).shape == (3, 10)
    y = fused(minigrad.tensor(_batch(np.float32)))
    assert y.grad_fn is None and not y.requires_grad


def test_fused_model_in_training_mode_raises():
    fused = fuse_for_inference(_model("mobilenet_v2", 0.25))
    fused.train()
    with pytest.raises(RuntimeError, match="FusedConv2d: .*only runs in eval mode"):
        fused(minigrad.tensor(_batch(np.float32)))


@pytest.mark.parametrize("in_training", ["model", "one block"])
def test_model_in_training_mode_is_refused(in_training):
    model = _model("mobilenet_v2", 0.25)
    (model if in_training == "model" else model.features[3]).train()
    with pytest.raises(RuntimeError, match=r"fuse_for_inference: .*training mode.*model\.eval\(\)"):
        fuse_for_inference(model)


def test_not_a_module_is_refused():
    with pytest.raises(TypeError, match="fuse_for_inference: model must be a Module, got dict"):
        fuse_for_inference({})


def test_any_tree_only_pairs_that_can_fold_are_fused(rng):
    class ConvPlusOne(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) + 1.0

    minigrad.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU6(),          # folded, + ReLU6
        nn.Sequential(nn.Conv2d(4, 4, 1, bias=False), nn.BatchNorm2d(4),
                      nn.Hardsigmoid()),                                     # folded, own act
        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, track_running_stats=False),    # batch statistics
        ConvPlusOne(4, 4, 1), nn.BatchNorm2d(4),                              # a subclass
        nn.BatchNorm2d(4),                                                    # no conv before
    ).double()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
            m.running_var.data[...] = rng.uniform(0.5, 2, 4)
            m.running_mean.data[...] = rng.normal(0, 1, 4)
    model.eval()
    fused = fuse_for_inference(model)
    kinds = [type(m).__name__ for m in fused]
    assert kinds == ["FusedConv2d", "Identity", "Identity", "Sequential", "Conv2d",
                     "BatchNorm2d", "ConvPlusOne", "BatchNorm2d", "BatchNorm2d"]
    assert [type(m).__name__ for m in fused[3]] == ["FusedConv2d", "Identity", "Hardsigmoid"]
    assert fused[0].activation == "relu6" and fused[3][0].activation is None
    x = rng.standard_normal((2, 3, 6, 6))
    np.testing.assert_allclose(_run(fused, x), _run(model, x), rtol=0, atol=1e-10)


def test_fused_conv_refuses_an_activation_it_cannot_apply():
    with pytest.raises(ValueError, match="FusedConv2d: activation must be one of .* 'sigmoid'"):
        FusedConv2d(nn.Conv2d(2, 2, 1), "BatchNorm2d(2)", "sigmoid")


@pytest.mark.parametrize("threads", [1, 2], indirect=True)
@pytest.mark.parametrize("activation", [nn.ReLU, nn.ReLU6, nn.Hardswish])
def test_in_place_activation_in_chunks_equals_the_activation_op(monkeypatch, threads, activation):
    # one sample per chunk, shared out over the threads however small the work
    monkeypatch.setattr(minigrad.fast.threads, "CHUNK_BYTES", 1)
    monkeypatch.setattr(minigrad.fast.threads, "MIN_PARALLEL_BYTES", 0)
    minigrad.manual_seed(2)
    conv = nn.Conv2d(3, 5, 3, padding=1).eval()
    conv.weight.data *= 20  # values across the kinks at 0, ±3 and 6
    layer = FusedConv2d(conv, "BatchNorm2d(5)", activation.__name__.lower())
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((4, 3, 6, 6)).astype(np.float32))
    with minigrad.no_grad():
        expected = activation()(conv(x)).numpy()
        np.testing.assert_array_equal(layer(x).numpy(), expected)
