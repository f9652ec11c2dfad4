"""The CLIP paper's modified ResNet image tower (RN50, RN101, RN50x4...), registered in
``factory.VISION_TOWERS`` as ``resnet``.

It differs from torchvision's ResNet in three ways the paper gives: a stem of three 3×3
convolutions with an average pool instead of one 7×7 convolution and a max pool;
anti-aliased strided blocks (an average pool before the last 1×1 convolution, and before the
shortcut's convolution, instead of a strided convolution); and attention pooling in place of
the global average pool: one query, the mean of the last feature map, attends over the map
with positions, and its output is projected into the shared embedding space.

Parameter names and shapes are OpenAI's and open_clip's (``visual.layer1.0.downsample.0``,
``visual.attnpool.q_proj``), so weights move between this tower and theirs unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from wit_builder.train.configs import VisionConfig

EXPANSION = 4  # a bottleneck's output has 4× its inner width


class Bottleneck(nn.Module):
    """1×1 in, 3×3, (average pool when strided), 1×1 out, plus the shortcut; all convolutions
    at stride 1."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride > 1 or inplanes != planes * EXPANSION:
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("-1", nn.AvgPool2d(stride)),
                        ("0", nn.Conv2d(inplanes, planes * EXPANSION, 1, bias=False)),
                        ("1", nn.BatchNorm2d(planes * EXPANSION)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class AttentionPool2d(nn.Module):
    """Multi-head attention of the feature map's mean (the query) over the mean and every
    position (the keys and values), each with a learned position embedding."""

    def __init__(self, side: int, width: int, heads: int, output_dim: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(side * side + 1, width) / width**0.5)
        self.k_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.c_proj = nn.Linear(width, output_dim)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2)  # (batch, positions, width)
        tokens = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
        tokens = tokens + self.positional_embedding.to(tokens.dtype)
        batch, _, width = tokens.shape
        head_width = width // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, -1, self.heads, head_width).transpose(1, 2)

        query = split(self.q_proj(tokens[:, :1]))
        attended = F.scaled_dot_product_attention(query, split(self.k_proj(tokens)), split(self.v_proj(tokens)))
        return self.c_proj(attended.transpose(1, 2).reshape(batch, width))


class ModifiedResNet(nn.Module):
    """The stem, four stages of bottlenecks (``cfg.layers`` blocks each; the last three halve
    the map), and attention pooling into ``embed_dim``. The map's width is ``cfg.width`` after
    the stem and 32× that at the end (2048 for RN50); the attention has ``32·width/head_width``
    heads, OpenAI's count."""

    def __init__(self, cfg: VisionConfig, embed_dim: int):
        super().__init__()
        if not isinstance(cfg.layers, tuple) or len(cfg.layers) != 4:
            raise ValueError(f"a ResNet image tower wants 4 stages of blocks, got layers={cfg.layers!r}")
        if cfg.image_size % 32:
            raise ValueError(f"image size {cfg.image_size} is not a multiple of 32, the ResNet's reduction")
        width = cfg.width
        self.image_size = cfg.image_size
        self.grad_checkpointing = False
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self.relu = nn.ReLU(inplace=True)
        self._inplanes = width
        self.layer1 = self._stage(width, cfg.layers[0])
        self.layer2 = self._stage(width * 2, cfg.layers[1], stride=2)
        self.layer3 = self._stage(width * 4, cfg.layers[2], stride=2)
        self.layer4 = self._stage(width * 8, cfg.layers[3], stride=2)
        final = width * 8 * EXPANSION
        self.attnpool = AttentionPool2d(cfg.image_size // 32, final, final // cfg.head_width, embed_dim)
        self._init_weights()

    def _stage(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layers = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * EXPANSION
        layers += [Bottleneck(self._inplanes, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        """CLIP's: the pooling projections at 1/√width, and each block's last batch norm at zero,
        so every block starts as the identity."""
        std = self.attnpool.c_proj.in_features**-0.5
        for projection in (self.attnpool.q_proj, self.attnpool.k_proj, self.attnpool.v_proj, self.attnpool.c_proj):
            nn.init.normal_(projection.weight, std=std)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                nn.init.zeros_(block.bn3.weight)

    def set_grad_checkpointing(self, enabled: bool = True) -> None:
        """Recompute each stage in the backward pass instead of keeping its activations."""
        self.grad_checkpointing = enabled

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.to(self.conv1.weight.dtype)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.avgpool(self.relu(self.bn3(self.conv3(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = checkpoint(stage, x, use_reentrant=False)
            else:
                x = stage(x)
        return self.attnpool(x)
