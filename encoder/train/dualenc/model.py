"""The two towers. Both end L2-normalised in a shared space of DIM values."""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

DIM = 128
TEXT_DIM = 384
# Image normalisation: (v/255 - MEAN) / STD per channel; Go reads these from
# model.json.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def normalize_images(u8: torch.Tensor) -> torch.Tensor:
    """uint8 [N,C,H,W] -> float32 product-tower input."""
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, -1, 1, 1)
    return (u8.float() / 255 - mean) / std


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ImageTower(nn.Module):
    """A small CNN trained from scratch: 64x48 -> 256 features, about 30M
    multiply-adds per image, sized for 2 CPU cores."""

    def __init__(self, out: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),  # 32x24
            _block(32, 48), nn.MaxPool2d(2),   # 16x12
            _block(48, 96), nn.MaxPool2d(2),   # 8x6
            _block(96, 192),
            nn.Conv2d(192, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ProductTower(nn.Module):
    """Image features fused with a projection of the text embedding. When
    text_present is 0 the text branch is zeroed, so image-only products use
    the same network."""

    def __init__(self, dim: int = DIM, text_dim: int = TEXT_DIM, hidden: int = 512):
        super().__init__()
        self.image = ImageTower()
        self.text = nn.Sequential(nn.Linear(text_dim, 256), nn.GELU())
        self.fuse = nn.Sequential(nn.Linear(256 + 256 + 1, hidden), nn.GELU(),
                                  nn.Dropout(0.1), nn.Linear(hidden, dim))

    def forward(self, image: torch.Tensor, text_embedding: torch.Tensor,
                text_present: torch.Tensor) -> torch.Tensor:
        img = self.image(image)
        txt = self.text(text_embedding) * text_present
        z = self.fuse(torch.cat([img, txt, text_present], dim=1))
        return F.normalize(z, dim=1)


class AttributeTower(nn.Module):
    """A trained projection of the MiniLM embedding of "key: value"."""

    def __init__(self, dim: int = DIM, text_dim: int = TEXT_DIM, hidden: int = 512):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(text_dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, text_embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(text_embedding), dim=1)


class DualEncoder(nn.Module):
    def __init__(self, dim: int = DIM):
        super().__init__()
        self.product = ProductTower(dim)
        self.attribute = AttributeTower(dim)
        # CLIP's initialisation: 1/0.07.
        self.logit_scale = nn.Parameter(torch.tensor(2.6593))

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=4.6052).exp()  # at most 100
