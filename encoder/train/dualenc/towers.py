"""The dual encoder's towers as torch modules holding the very weights of
the committed ONNX files (encoder/weights/product.onnx, attribute.onnx). The
ONNX export folded BatchNorm into the convolutions, so the image tower here
mirrors the ONNX graph (conv with bias + ReLU + max pool ...), read node by
node, rather than model.py's training-time modules."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _attrs(node) -> dict:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _load(path: str):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    return m.graph, init


def _linear(init: dict, prefix: str) -> nn.Linear:
    w, b = init[prefix + ".weight"], init[prefix + ".bias"]
    lin = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.copy_(b)
    return lin


class ProductTower(nn.Module):
    """product.onnx: image [N,3,64,48], text_embedding [N,384],
    text_present [N,1] -> unit vector [N,128]."""

    def __init__(self, path: str):
        super().__init__()
        graph, init = _load(path)
        layers = []
        for node in graph.node:
            if node.output[0].startswith("/tower/image/") or node.op_type == "Conv":
                a = _attrs(node)
                if node.op_type == "Conv":
                    w = init[node.input[1]]
                    conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(a["kernel_shape"]), stride=tuple(a["strides"]),
                                     padding=tuple(a["pads"][:2]), bias=True)
                    assert a["pads"][:2] == a["pads"][2:] and a.get("group", 1) == 1
                    with torch.no_grad():
                        conv.weight.copy_(w)
                        conv.bias.copy_(init[node.input[2]])
                    layers.append(conv)
                elif node.op_type == "Relu":
                    layers.append(nn.ReLU())
                elif node.op_type == "MaxPool":
                    assert not any(a.get("pads", [0])) and not a.get("ceil_mode", 0)
                    layers.append(nn.MaxPool2d(tuple(a["kernel_shape"]), stride=tuple(a["strides"])))
                elif node.op_type == "GlobalAveragePool":
                    layers.append(nn.AdaptiveAvgPool2d(1))
                elif node.op_type == "Flatten":
                    layers.append(nn.Flatten())
                else:
                    raise ValueError(f"{path}: unexpected image op {node.op_type}")
        self.image = nn.Sequential(*layers)
        self.text = _linear(init, "tower.text.0")
        self.fuse0 = _linear(init, "tower.fuse.0")
        self.fuse3 = _linear(init, "tower.fuse.3")

    def forward(self, image, text_embedding, text_present):
        img = self.image(image)
        txt = F.gelu(self.text(text_embedding)) * text_present
        z = self.fuse3(F.gelu(self.fuse0(torch.cat([img, txt, text_present], dim=1))))
        return F.normalize(z.float(), dim=1)


class AttributeTower(nn.Module):
    """attribute.onnx: text_embedding [N,384] -> unit vector [N,128]."""

    def __init__(self, path: str):
        super().__init__()
        _, init = _load(path)
        self.proj0 = _linear(init, "proj.0")
        self.proj2 = _linear(init, "proj.2")

    def forward(self, text_embedding):
        return F.normalize(self.proj2(F.gelu(self.proj0(text_embedding))).float(), dim=1)


def normalize_images(u8: torch.Tensor, mean, std) -> torch.Tensor:
    """encoder.NormalizeImage: (v/255 - mean[c]) / std[c], float32."""
    m = torch.tensor(mean, dtype=torch.float32, device=u8.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=u8.device).view(1, -1, 1, 1)
    return (u8.float() / 255 - m) / s
