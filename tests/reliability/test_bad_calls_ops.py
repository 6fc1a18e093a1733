"""Bad calls to the functional API (`F.*`), Tensor methods, creation helpers and autograd:
each raises the right exception type, names the function and the bad value, changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from tests.reliability.bad_call import Bad, check_bad_call, params


def r(*shape: int, dtype=np.float32) -> minigrad.Tensor:
    return minigrad.randn(*shape, dtype=dtype)


def i(*shape: int) -> minigrad.Tensor:
    return minigrad.tensor(np.zeros(shape, dtype=np.int64))


def w(world) -> minigrad.Tensor:
    """The world's conv weight (4, 3, 3, 3): using it proves a failed call leaves it alone."""
    return world.model[0].weight


CONV = [
    Bad("conv2d-2d-input", lambda wd: F.conv2d(r(6, 6), w(wd)),
        ValueError, "conv2d", "(6, 6)"),
    Bad("conv2d-channels", lambda wd: F.conv2d(r(2, 5, 6, 6), w(wd)),
        ValueError, "conv2d", "(2, 5, 6, 6)"),
    Bad("conv2d-groups-divide", lambda wd: F.conv2d(r(2, 3, 6, 6), r(4, 1, 3, 3), groups=2),
        ValueError, "conv2d", "groups=2"),
    Bad("conv2d-groups-zero", lambda wd: F.conv2d(wd.x, w(wd), groups=0),
        ValueError, "conv2d", "groups=0"),
    Bad("conv2d-stride-zero", lambda wd: F.conv2d(wd.x, w(wd), stride=0),
        ValueError, "conv2d", "stride must be ≥ 1, got 0"),
    Bad("conv2d-negative-padding", lambda wd: F.conv2d(wd.x, w(wd), padding=-1),
        ValueError, "conv2d", "-1"),
    Bad("conv2d-kernel-too-large", lambda wd: F.conv2d(r(1, 3, 2, 2), w(wd)),
        ValueError, "conv2d", "(1, 3, 2, 2)"),
    Bad("conv2d-int-input", lambda wd: F.conv2d(i(2, 3, 6, 6), w(wd)),
        TypeError, "conv2d", "int64"),
    Bad("conv2d-dtype-mismatch", lambda wd: F.conv2d(r(2, 3, 6, 6, dtype=np.float64), w(wd)),
        TypeError, "conv2d", "float64"),
    Bad("conv2d-bias-shape", lambda wd: F.conv2d(wd.x, w(wd), r(3)),
        ValueError, "conv2d", "(3,)"),
    Bad("conv2d-same-stride2", lambda wd: F.conv2d(wd.x, w(wd), stride=2, padding="same"),
        ValueError, "conv2d", "stride (2, 2)"),
    Bad("conv2d-padding-word", lambda wd: F.conv2d(wd.x, w(wd), padding="full"),
        ValueError, "conv2d", "'full'"),
    Bad("conv2d-ndarray-input", lambda wd: F.conv2d(wd.x.data, w(wd)),
        TypeError, "conv2d", "ndarray"),
    Bad("conv2d-float-stride", lambda wd: F.conv2d(wd.x, w(wd), stride=1.5),
        TypeError, "conv2d", "1.5"),
]

BATCH_NORM = [
    Bad("batch_norm-running-var-shape",
        lambda wd: F.batch_norm(r(2, 4, 3, 3), wd.model[1].running_mean, r(3), training=True),
        ValueError, "batch_norm", "(3,)"),
    Bad("batch_norm-weight-shape",
        lambda wd: F.batch_norm(r(2, 4, 3, 3), wd.model[1].running_mean,
                                wd.model[1].running_var, weight=r(5), training=True),
        ValueError, "batch_norm", "(5,)"),
    Bad("batch_norm-momentum-above-one",
        lambda wd: F.batch_norm(r(2, 4), wd.model[1].running_mean, wd.model[1].running_var,
                                training=True, momentum=1.5),
        ValueError, "batch_norm", "1.5"),
    Bad("batch_norm-momentum-nan",
        lambda wd: F.batch_norm(r(2, 4), wd.model[1].running_mean, wd.model[1].running_var,
                                training=True, momentum=float("nan")),
        ValueError, "batch_norm", "nan"),
    Bad("batch_norm-negative-eps",
        lambda wd: F.batch_norm(r(2, 4), wd.model[1].running_mean, wd.model[1].running_var,
                                training=True, eps=-1e-5),
        ValueError, "batch_norm", "-1e-05"),
    Bad("batch_norm-one-value-per-channel",
        lambda wd: F.batch_norm(r(1, 4), wd.model[1].running_mean, wd.model[1].running_var,
                                training=True),
        ValueError, "batch_norm", "(1, 4)"),
    Bad("batch_norm-empty-batch",
        lambda wd: F.batch_norm(r(0, 4, 2, 2), wd.model[1].running_mean,
                                wd.model[1].running_var, training=True),
        ValueError, "batch_norm", "(0, 4, 2, 2)"),
    Bad("batch_norm-1d-input", lambda wd: F.batch_norm(r(4), None, None, training=True),
        ValueError, "batch_norm", "(4,)"),
    Bad("batch_norm-int-input",
        lambda wd: F.batch_norm(i(2, 4), wd.model[1].running_mean, wd.model[1].running_var),
        TypeError, "batch_norm", "int64"),
]

POOL = [
    Bad("max_pool2d-kernel-zero", lambda wd: F.max_pool2d(wd.x, 0),
        ValueError, "max_pool2d", "got 0"),
    Bad("max_pool2d-2d-input", lambda wd: F.max_pool2d(r(6, 6), 2),
        ValueError, "max_pool2d", "(6, 6)"),
    Bad("max_pool2d-padding-over-half", lambda wd: F.max_pool2d(wd.x, 2, padding=2),
        ValueError, "max_pool2d", "padding=(2, 2)"),
    Bad("max_pool2d-kernel-too-large", lambda wd: F.max_pool2d(wd.x, 7),
        ValueError, "max_pool2d", "(7, 7)"),
    Bad("max_pool2d-negative-stride", lambda wd: F.max_pool2d(wd.x, 2, stride=-1),
        ValueError, "max_pool2d", "-1"),
    Bad("avg_pool2d-kernel-too-large", lambda wd: F.avg_pool2d(wd.x, (2, 9)),
        ValueError, "avg_pool2d", "(2, 9)"),
    Bad("avg_pool2d-divisor-zero", lambda wd: F.avg_pool2d(wd.x, 2, divisor_override=0),
        ValueError, "avg_pool2d", "divisor_override"),
    Bad("avg_pool2d-int-input", lambda wd: F.avg_pool2d(i(1, 2, 4, 4), 2),
        TypeError, "avg_pool2d", "int64"),
    Bad("adaptive_avg_pool2d-zero", lambda wd: F.adaptive_avg_pool2d(wd.x, 0),
        ValueError, "adaptive_avg_pool2d", "0"),
]

DROPOUT_LINEAR = [
    Bad("dropout-p-above-one", lambda wd: F.dropout(wd.x, p=1.5),
        ValueError, "dropout", "1.5"),
    Bad("dropout-p-negative", lambda wd: F.dropout(wd.x, p=-0.1),
        ValueError, "dropout", "-0.1"),
    Bad("dropout-p-nan", lambda wd: F.dropout(wd.x, p=float("nan")),
        ValueError, "dropout", "nan"),
    Bad("dropout-int-input", lambda wd: F.dropout(i(3), p=0.5),
        TypeError, "dropout", "int64"),
    Bad("linear-features", lambda wd: F.linear(r(2, 5), wd.model[5].weight),
        ValueError, "linear", "(2, 5)"),
    Bad("linear-bias-shape", lambda wd: F.linear(r(2, 4), wd.model[5].weight, r(4)),
        ValueError, "linear", "(4,)"),
    Bad("linear-int-input", lambda wd: F.linear(i(2, 4), wd.model[5].weight),
        TypeError, "linear", "int64"),
]

LOSS = [
    Bad("cross_entropy-target-too-large",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 5, 2])),
        ValueError, "cross_entropy", "target 5 is out of bounds for 5 classes"),
    Bad("cross_entropy-negative-target",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, -3, 1, 2])),
        ValueError, "cross_entropy", "-3"),
    Bad("cross_entropy-float-indices",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0.0, 1.0, 2.0, 3.0])),
        TypeError, "cross_entropy", "float32"),
    Bad("cross_entropy-target-shape",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 2])),
        ValueError, "cross_entropy", "(3,)"),
    Bad("cross_entropy-label-smoothing",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 2, 3]),
                                   label_smoothing=1.5),
        ValueError, "cross_entropy", "1.5"),
    Bad("cross_entropy-reduction",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 2, 3]), reduction="avg"),
        ValueError, "cross_entropy", "'avg'"),
    Bad("cross_entropy-weight-shape",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 2, 3]), weight=r(4)),
        ValueError, "cross_entropy", "(4,)"),
    Bad("cross_entropy-scalar-input",
        lambda wd: F.cross_entropy(r(), minigrad.tensor(0)),
        ValueError, "cross_entropy", "()"),
    Bad("cross_entropy-int-logits",
        lambda wd: F.cross_entropy(i(4, 5), minigrad.tensor([0, 1, 2, 3])),
        TypeError, "cross_entropy", "int64"),
    Bad("cross_entropy-float-ignore-index",
        lambda wd: F.cross_entropy(wd.logits, minigrad.tensor([0, 1, 2, 3]), ignore_index=1.5),
        TypeError, "cross_entropy", "1.5"),
    Bad("nll_loss-target-too-large",
        lambda wd: F.nll_loss(wd.logits, minigrad.tensor([0, 1, 2, 7])),
        ValueError, "nll_loss", "target 7"),
    Bad("mse_loss-shapes", lambda wd: F.mse_loss(r(2, 3), r(4)),
        ValueError, "mse_loss", "(2, 3)"),
    Bad("mse_loss-int-target", lambda wd: F.mse_loss(r(2, 3), i(2, 3)),
        TypeError, "mse_loss", "int64"),
    Bad("mse_loss-reduction", lambda wd: F.mse_loss(r(2), r(2), reduction="max"),
        ValueError, "mse_loss", "'max'"),
    Bad("softmax-dim", lambda wd: F.softmax(wd.logits, dim=2),
        ValueError, "softmax", "dim 2"),
    Bad("log_softmax-int-input", lambda wd: F.log_softmax(i(2, 3), dim=1),
        TypeError, "log_softmax", "int64"),
    Bad("hardswish-ndarray", lambda wd: F.hardswish(np.ones(3)),
        TypeError, "hardswish", "ndarray"),
]


def _backward_twice(world) -> None:
    loss = (minigrad.ones(3, requires_grad=True) * 2).sum()
    loss.backward()
    loss.backward()


def _inplace_on_saved(world) -> None:
    x = minigrad.ones(3, requires_grad=True)
    saved = minigrad.ones(3)
    y = x * saved
    saved.add_(1.0)
    y.sum().backward()


TENSOR = [
    Bad("add-shapes", lambda wd: wd.logits + r(3),
        ValueError, "add", "(4, 5)"),
    Bad("matmul-shapes", lambda wd: wd.logits @ r(4, 5),
        ValueError, "matmul", "(4, 5)"),
    Bad("reshape-size", lambda wd: wd.logits.reshape(3, 7),
        ValueError, "reshape", "(3, 7)"),
    Bad("permute-dims", lambda wd: wd.logits.permute(0, 0),
        ValueError, "permute", "(0, 0)"),
    Bad("sum-dim", lambda wd: wd.logits.sum(dim=4),
        ValueError, "sum", "dim 4"),
    Bad("cat-shapes", lambda wd: minigrad.cat([r(2, 3), r(2, 4)], dim=0),
        ValueError, "cat", "(2, 4)"),
    Bad("stack-empty", lambda wd: minigrad.stack([]),
        TypeError, "stack", "[]"),
    Bad("item-non-scalar", lambda wd: wd.logits.item(),
        ValueError, "item", "(4, 5)"),
    Bad("tensor-object", lambda wd: minigrad.tensor([{"a": 1}, 2]),
        TypeError, "tensor", "object"),
    Bad("tensor-bad-dtype", lambda wd: minigrad.tensor([1.0], dtype="floot32"),
        TypeError, "tensor", "'floot32'"),
    Bad("zeros-negative", lambda wd: minigrad.zeros(2, -1),
        ValueError, "zeros", "-1"),
    Bad("randn-negative", lambda wd: minigrad.randn(-3),
        ValueError, "randn", "-3"),
    Bad("ones-float-size", lambda wd: minigrad.ones(2.5),
        TypeError, "ones", "2.5"),
    Bad("full-negative", lambda wd: minigrad.full((2, -2), 1.0),
        ValueError, "full", "(2, -2)"),
    Bad("clip-no-bounds", lambda wd: wd.logits.clip(),
        ValueError, "clip", "min and max"),
    Bad("requires-grad-int", lambda wd: minigrad.tensor([1, 2], requires_grad=True),
        RuntimeError, "requires_grad", "int64"),
    Bad("backward-no-grad", lambda wd: wd.logits.sum().backward(),
        RuntimeError, "backward", "requires_grad=True"),
    Bad("backward-non-scalar", lambda wd: (wd.model[5].weight * 2).backward(),
        RuntimeError, "backward", "(5, 4)"),
    Bad("backward-gradient-shape",
        lambda wd: (wd.model[5].weight * 2).backward(np.ones((4, 5), np.float32)),
        ValueError, "backward", "(4, 5)"),
    Bad("backward-twice", _backward_twice,
        RuntimeError, "Mul", "retain_graph=True"),
    Bad("inplace-on-saved", _inplace_on_saved,
        RuntimeError, "Mul", "version 0 -> 1"),
    Bad("inplace-on-leaf", lambda wd: wd.model[5].weight.add_(1.0),
        RuntimeError, "add_", "leaf"),
    Bad("manual_seed-string", lambda wd: minigrad.manual_seed("7"),
        TypeError, "manual_seed", "str"),
    Bad("manual_seed-too-large", lambda wd: minigrad.manual_seed(2**64),
        ValueError, "manual_seed", str(2**64)),
    Bad("bool-ambiguous", lambda wd: bool(wd.logits > 0),
        ValueError, "bool", "(4, 5)"),
    Bad("mul-None", lambda wd: wd.logits * None,
        TypeError, "mul", "None"),
    Bad("add-string", lambda wd: wd.logits + "1",
        TypeError, "add", "'1'"),
    Bad("pow-negative-int-exponent", lambda wd: minigrad.tensor(np.arange(3)) ** -1,
        ValueError, "pow", "-1"),
    Bad("tensor-ragged", lambda wd: minigrad.tensor([[1.0, 2.0], [3.0]]),
        ValueError, "tensor", "irregular shape"),
    Bad("tensor-string", lambda wd: minigrad.tensor("1.0"),
        TypeError, "tensor", "str"),
    Bad("Tensor-object-ndarray", lambda wd: minigrad.Tensor(np.array([None, 1.0])),
        TypeError, "tensor", "object"),
    Bad("arange-zero-step", lambda wd: minigrad.arange(0, 5, 0),
        ValueError, "arange", "0"),
    Bad("randint-empty-range", lambda wd: minigrad.randint(5, 5, (2,)),
        ValueError, "randint", "low=5, high=5"),
    Bad("eye-negative", lambda wd: minigrad.eye(-2),
        ValueError, "eye", "-2"),
    Bad("full-int-size", lambda wd: minigrad.full(3, 1.0),
        TypeError, "full", "3"),
    Bad("var-string-correction", lambda wd: wd.logits.var(correction="1"),
        TypeError, "var", "'1'"),
    Bad("sum-string-keepdim", lambda wd: wd.logits.sum(dim=0, keepdim="no"),
        TypeError, "sum", "'no'"),
    Bad("pad-string-value", lambda wd: F.pad(wd.x, (1, 1), value="0"),
        TypeError, "pad", "'0'"),
    Bad("clip-string-bound", lambda wd: wd.logits.clip("0"),
        TypeError, "clip", "'0'"),
    Bad("where-string-condition", lambda wd: minigrad.where("yes", wd.logits, 0.0),
        TypeError, "where", "str"),
    Bad("backward-string-gradient",
        lambda wd: (wd.model[5].weight * 2).backward("ones"),
        TypeError, "backward", "<U4"),
]

ROWS = CONV + BATCH_NORM + POOL + DROPOUT_LINEAR + LOSS + TENSOR


@pytest.mark.parametrize("row", params(ROWS))
def test_bad_call_raises_a_clear_error_and_changes_nothing(row: Bad) -> None:
    check_bad_call(row)
