"""minigrad: a small NumPy autograd framework for learning and prototyping MobileNets."""

from minigrad.autograd import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from minigrad.device import Device as device
from minigrad.dtypes import bool_, float16, float32, float64, int32, int64, uint8
from minigrad.fast.threads import get_num_threads, set_num_threads
from minigrad.functions import (
    add,
    argmax,
    argmin,
    concat,
    concatenate,
    div,
    dropout,
    flatten,
    is_tensor,
    log_softmax,
    max,
    mean,
    min,
    mul,
    neg,
    numel,
    permute,
    pow,
    reshape,
    softmax,
    squeeze,
    sub,
    sum,
    transpose,
    unsqueeze,
    var,
)
from minigrad.grad_mode import inference_mode, is_inference_mode_enabled, set_grad_enabled
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.kernels import get_kernels, use_kernels
from minigrad.ops.activation import relu, sigmoid, tanh
from minigrad.ops.compare import allclose, isclose
from minigrad.ops.elementwise import abs, clamp, clip, exp, log, maximum, minimum, sqrt, where
from minigrad.ops.matmul import matmul
from minigrad.ops.shape import cat, stack
from minigrad.random import manual_seed
from minigrad.serialization import load, save
from minigrad.tensor import (
    Tensor,
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)

from minigrad import cuda  # noqa: E402  isort: skip
from minigrad.torch_checkpoint import UnsafeCheckpointError, load_torch, save_torch

# the subpackages last: they build on everything above
from minigrad import data, models, nn, optim, utils  # noqa: E402  isort: skip
from minigrad import interop, onnx  # noqa: E402  isort: skip

__version__ = "0.1.0"
