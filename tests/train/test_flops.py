"""The analytic FLOPs count against torch's own counter, and the peak table."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from wit_builder.train.configs import ClipConfig, TextConfig, VisionConfig, model_config
from wit_builder.train.factory import create_model
from wit_builder.train.flops import peak_tflops, step_flops


def attention_flops(tokens: int, width: int, layers: int) -> int:
    return layers * 4 * tokens * tokens * width


SMALL = ClipConfig(96, VisionConfig(64, 2, 192, 16, 64, 4.0), TextConfig(20, 1000, 128, 2, 2, 3.0))


@pytest.mark.parametrize("config", [model_config("tiny"), SMALL], ids=["tiny", "small"])
def test_the_count_is_what_torch_counts_plus_the_attention_it_cannot_see(config):
    """torch's FlopCounterMode counts every projection, the patch embedding and the heads; on the
    CPU, SDPA runs a fused kernel it does not count, so the two differ by exactly QKᵀ and AV."""
    config = config.with_vocab(1000)
    model = create_model(config, 999)
    batch, vision, text = 2, config.vision_cfg, config.text_cfg
    pixels = torch.randn(batch, 3, vision.image_size, vision.image_size)
    tokens = torch.randint(0, 998, (batch, text.context_length))
    tokens[:, 5] = 999
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(pixels, tokens)
    flops = step_flops(config, batch)
    unseen = attention_flops(vision.grid**2 + 1, vision.width, vision.layers)
    unseen += attention_flops(text.context_length, text.width, text.layers)
    assert counter.get_total_flops() == batch * (flops.vision + flops.text - unseen)
    assert flops.train == 3 * (flops.vision + flops.text + flops.loss)


def test_vit_b_16_costs_what_the_literature_says():
    flops = step_flops(model_config("ViT-B-16"), 256)
    assert 34.8e9 < flops.vision < 35.4e9  # 17.6 G multiply-adds for a ViT-B/16 image at 224 px (the ViT paper)
    assert 5.5e9 < flops.text < 6.5e9  # a 12-layer, 512-wide text tower over 77 tokens


def test_peaks_by_device_name():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA H200") == 989.4
    assert peak_tflops("some other card") is None
