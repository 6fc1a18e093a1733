"""Tools around models: `summary` (parameters, MACs, activation memory), the autograd graph
(`to_dot`, `to_graphviz`, `render`), and `fuse_for_inference`, an eval-only copy of a model with
its conv–BatchNorm pairs folded."""

from minigrad.utils.fuse import FusedConv2d, fuse_for_inference
from minigrad.utils.graph import render, to_dot, to_graphviz
from minigrad.utils.summary import LayerRow, ModelSummary, layer_macs, summary

__all__ = ["FusedConv2d", "LayerRow", "ModelSummary", "fuse_for_inference", "layer_macs",
           "render", "summary", "to_dot", "to_graphviz"]
