"""Tools around models: `summary` (parameters, MACs, activation memory) and `to_dot`; and
`keep_freed_memory`, glibc allocator settings for training loops."""

from minigrad.utils.allocator import keep_freed_memory
from minigrad.utils.graph import to_dot
from minigrad.utils.summary import LayerRow, ModelSummary, layer_macs, summary

__all__ = ["LayerRow", "ModelSummary", "keep_freed_memory", "layer_macs", "summary", "to_dot"]
