"""The stateless functional API, `minigrad.nn.functional` (import as `F`): torch's names and
signatures, each a thin wrapper that validates its arguments and calls one op `Function`."""

from minigrad.ops.activation import (
    hardsigmoid,
    hardswish,
    log_softmax,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from minigrad.ops.conv import conv2d
from minigrad.ops.dropout import dropout
from minigrad.ops.loss import cross_entropy, mse_loss, nll_loss
from minigrad.ops.loss import binary_cross_entropy_with_logits
from minigrad.ops.interpolate import interpolate
from minigrad.ops.encoding import one_hot
from minigrad.ops.matmul import linear
from minigrad.ops.norm import batch_norm
from minigrad.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from minigrad.ops.shape import pad

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
    "hardsigmoid", "hardswish", "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss",
    "pad", "relu", "relu6", "sigmoid", "silu", "softmax", "tanh",
]
__all__ += ["binary_cross_entropy_with_logits", "interpolate", "one_hot"]
