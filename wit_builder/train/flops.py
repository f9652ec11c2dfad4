"""Model FLOPs of a CLIP training step, counted from the config alone, and GPUs' peak rates.

Model FLOPs utilisation (MFU) is the FLOPs the model needs per second at the measured speed,
over the GPU's dense peak: what the step would cost with no recomputation, no padding and no
framework overhead. The count (each multiply-add is 2 FLOPs):

- a transformer layer over n tokens of width d with an MLP of width h:
  ``2·n·(4·d² + 2·d·h)`` for the q, k, v, output and MLP projections, plus ``2·2·n²·d`` for
  QKᵀ and the attention-weighted sum of V (counted in full for the causal text tower too, as
  MFU figures usually are);
- the image tower: its patch embedding ``2·g²·(3·p²)·d`` (a g×g grid of p×p patches), L layers
  over g²+1 tokens, and the projection of the class token ``2·d·e``;
- the text tower: L layers over the context length, and the projection of the end token;
- the loss: the image-text logits, ``2·B·e`` per sample for a batch of B;
- training is the forward pass and a backward pass of twice its cost: 3× the forward FLOPs.

An image tower other than the ViT (the ResNet) has no formula here: its forward FLOPs are
counted by ``torch.utils.flop_counter`` over one image on the meta device (no memory, no time).
"""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.train.configs import ClipConfig

# Dense bf16 tensor-core peaks (no sparsity), from the vendors' data sheets, by device name.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100", 989.4),  # SXM
    ("A100", 312.0),
    ("L40S", 362.0),
    ("A10G", 70.0),
)

FORMULA = (
    "train FLOPs/sample = 3 × [ 2·g²·3p²·d_v + L_v·layer(g²+1, d_v) + 2·d_v·e"
    " + L_t·layer(ctx, d_t) + 2·d_t·e + 2·B·e ],  layer(n, d) = 2·n·(4d² + 2·d·h) + 4·n²·d"
)


def layer_flops(tokens: int, width: int, mlp_ratio: float) -> int:
    """Forward FLOPs of one transformer layer over ``tokens`` tokens."""
    hidden = int(width * mlp_ratio)
    return 2 * tokens * (4 * width * width + 2 * width * hidden) + 4 * tokens * tokens * width


@dataclass(frozen=True)
class StepFlops:
    vision: int  # forward FLOPs of one image
    text: int  # forward FLOPs of one caption
    loss: int  # forward FLOPs of one sample's share of the logits

    @property
    def forward(self) -> int:
        return self.vision + self.text + self.loss

    @property
    def train(self) -> int:
        """Forward and backward (twice the forward) for one sample."""
        return 3 * self.forward


def step_flops(config: ClipConfig, batch_size: int) -> StepFlops:
    """The model FLOPs of one training sample at ``batch_size`` (see the module docstring)."""
    v, t, e = config.vision_cfg, config.text_cfg, config.embed_dim
    if v.tower == "vit":
        grid = v.grid * v.grid
        vision = 2 * grid * 3 * v.patch_size * v.patch_size * v.width
        vision += v.layers * layer_flops(grid + 1, v.width, v.mlp_ratio) + 2 * v.width * e
    else:
        vision = counted_vision_flops(config)
    text = t.layers * layer_flops(t.context_length, t.width, t.mlp_ratio) + 2 * t.width * e
    return StepFlops(vision=vision, text=text, loss=2 * batch_size * e)


def peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of a GPU named ``device_name`` (``torch.cuda.get_device_name``), or None."""
    for fragment, tflops in PEAK_BF16_TFLOPS:
        if fragment in device_name:
            return tflops
    return None


def counted_vision_flops(config: ClipConfig) -> int:
    """Forward FLOPs of one image through the image tower, counted by torch on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from wit_builder.train.factory import vision_tower

    v = config.vision_cfg
    with torch.device("meta"):
        tower = vision_tower(v, config.embed_dim).eval()
        pixels = torch.empty(1, 3, v.image_size, v.image_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        tower(pixels)
    return int(counter.get_total_flops())
