"""Tools around models: `summary` (parameters, MACs, activation memory) and the autograd graph
(`to_dot`, `to_graphviz`, `render`)."""

from minigrad.utils.graph import render, to_dot, to_graphviz
from minigrad.utils.summary import LayerRow, ModelSummary, layer_macs, summary

__all__ = ["LayerRow", "ModelSummary", "layer_macs", "render", "summary", "to_dot",
           "to_graphviz"]
