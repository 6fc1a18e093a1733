"""Other frameworks' checkpoint formats, read and written with NumPy only.

The public entry points are `minigrad.torch_checkpoint.load_torch` and `save_torch`.

`to_torch` / `from_torch` carry a model across to PyTorch and back, `torch_optimizer_state` /
`load_torch_optimizer_state` its optimizer's state (torch is imported inside them only).
"""

from minigrad.interop.convert import from_torch, to_torch
from minigrad.interop.optimizer_state import load_torch_optimizer_state, torch_optimizer_state

__all__ = ["from_torch", "load_torch_optimizer_state", "to_torch", "torch_optimizer_state"]
