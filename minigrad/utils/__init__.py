"""Tools around models: `summary` (parameters, MACs, activation memory) and `to_dot`."""

from minigrad.utils.graph import to_dot
from minigrad.utils.summary import LayerRow, ModelSummary, layer_macs, summary

__all__ = ["LayerRow", "ModelSummary", "layer_macs", "summary", "to_dot"]
