"""Tools around models: `summary` (parameters, MACs, activation memory) and `to_dot`.
`fuse_for_inference` makes an eval-only copy of a model with its conv–BatchNorm pairs folded."""

from minigrad.utils.fuse import FusedConv2d, fuse_for_inference
from minigrad.utils.graph import to_dot
from minigrad.utils.summary import LayerRow, ModelSummary, layer_macs, summary

__all__ = ["LayerRow", "ModelSummary", "layer_macs", "summary", "to_dot"]
__all__ += ["FusedConv2d", "fuse_for_inference"]
