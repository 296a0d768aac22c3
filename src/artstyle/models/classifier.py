"""Style classifiers, built by name: ``build_classifier("resnet", num_classes=27, img_size=128)``.

Every model maps ``x: (N, 3, H, W)`` floats in [-1, 1] to logits ``(N, C)`` and exposes
``forward_features(x) -> (N, D)``, the penultimate representation used for embeddings.

- ``inclass``: the course's in-class baseline, faithfully: one 3->1 channel 4x4 conv, 4x4 max-pool,
  flatten, BatchNorm1d, Linear to 300, dropout, ReLU, Linear to the classes.
- ``simple-cnn``: a small MNIST-style CNN (three conv/pool blocks, one hidden layer).
- ``resnet`` (default): a compact residual CNN with BatchNorm and global average pooling; ``width`` and
  ``depth`` scale it. At width 32, depth 1 it has about 1.2M parameters.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class InClassNet(nn.Module):
    """The in-class WikiArt demo model, adapted to any input size."""

    def __init__(self, num_classes: int, img_size: int = 128, hidden: int = 300, dropout: float = 0.01) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, kernel_size=4, padding=2)
        self.pool = nn.MaxPool2d(4, padding=2)
        with torch.no_grad():
            flat = self.pool(self.conv(torch.zeros(1, 3, img_size, img_size))).numel()
        self.norm = nn.BatchNorm1d(flat)
        self.fc = nn.Linear(flat, hidden)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.ReLU()
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv(x)).flatten(1)
        return self.act(self.dropout(self.fc(self.norm(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class SimpleCNN(nn.Module):
    """An MNIST-style CNN: conv-ReLU-pool x3, adaptive pooling, one hidden layer."""

    def __init__(self, num_classes: int, img_size: int = 128, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(4 * w * 16, 256), nn.ReLU(), nn.Dropout(dropout),
        )
        self.head = nn.Linear(256, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        nn.init.zeros_(self.bn2.weight)  # residual branches start as identity: trains faster from scratch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.skip(x))


class ResNet(nn.Module):
    """Compact ResNet: stride-2 stem, four stages (width x 1, 2, 4, 8), global average pooling."""

    def __init__(self, num_classes: int, img_size: int = 128, width: int = 32, depth: int = 1,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks, cin = [], width
        for i, mult in enumerate((1, 2, 4, 8)):
            for j in range(depth):
                blocks.append(BasicBlock(cin, width * mult, stride=2 if (j == 0 and i > 0) else 1))
                cin = width * mult
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, num_classes)
        self.feature_dim = cin

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after the stem and each stage, for Gram-matrix style statistics."""
        maps, x = [], self.stem(x)
        maps.append(x)
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(self.stem(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


CLASSIFIERS: dict[str, Callable[..., nn.Module]] = {
    "inclass": lambda num_classes, img_size, width, depth: InClassNet(num_classes, img_size),
    "simple-cnn": lambda num_classes, img_size, width, depth: SimpleCNN(num_classes, img_size, width),
    "resnet": lambda num_classes, img_size, width, depth: ResNet(num_classes, img_size, width, depth),
}


def build_classifier(name: str, num_classes: int, img_size: int = 128, width: int = 32, depth: int = 1) -> nn.Module:
    """Build a classifier from the registry by ``name``."""
    from artstyle.errors import ArtstyleError

    if name not in CLASSIFIERS:
        raise ArtstyleError(f"--model {name!r} is not one of: {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name](num_classes, img_size, width, depth)
