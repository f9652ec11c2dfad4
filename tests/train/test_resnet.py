"""The modified ResNet image tower: OpenAI's RN50 size, through the factory, and open_clip reads
its export."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from wit_builder.train.configs import ClipConfig, model_config
from wit_builder.train.factory import create_model, vision_tower
from wit_builder.train.resnet import ModifiedResNet

SMALL = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 100, "width": 32, "heads": 2, "layers": 1},
}


def test_rn50_comes_through_the_factory_with_openais_parameter_count():
    config = model_config("RN50")
    assert config.vision_cfg.tower == "resnet" and config.vision_cfg.layers == (3, 4, 6, 3)
    with torch.device("meta"):
        model = create_model(config)
    assert isinstance(model.visual, ModifiedResNet)
    assert sum(p.numel() for p in model.parameters()) == 102_007_137  # OpenAI's RN50
    assert sum(p.numel() for p in model.visual.parameters()) == 38_316_896
    assert model.visual.attnpool.heads == 32  # 2048 wide, heads of 64


def test_a_list_of_layers_is_a_resnet_as_in_open_clip():
    assert ClipConfig.from_dict(SMALL).vision_cfg.tower == "resnet"
    assert ClipConfig.from_dict({**SMALL, "vision_cfg": {"layers": 2, "patch_size": 8}}).vision_cfg.tower == "vit"


def test_a_small_resnet_clip_trains_a_step_and_checkpoints_its_grads():
    torch.manual_seed(0)
    model = create_model(ClipConfig.from_dict(SMALL), 99)
    model.set_grad_checkpointing(True)
    pixels, ids = torch.randn(4, 3, 64, 64), torch.randint(1, 99, (4, 16))
    image, text, scale = model(pixels, ids)
    assert image.shape == text.shape == (4, 32) and torch.allclose(image.norm(dim=-1), torch.ones(4))
    (image @ text.T * scale).logsumexp(-1).mean().backward()
    assert all(p.grad is not None for p in model.visual.parameters() if p.requires_grad)


def test_every_block_starts_as_the_identity():
    tower = vision_tower(ClipConfig.from_dict(SMALL).vision_cfg, 32)
    assert all(block.bn3.weight.abs().sum() == 0 for stage in (tower.layer1, tower.layer4) for block in stage)


@pytest.mark.parametrize(
    ("vision", "message"),
    [({"layers": [1, 1, 1], "patch_size": None}, "4 stages"), ({"image_size": 60, "layers": [1, 1, 1, 1]}, "32")],
)
def test_a_resnet_of_the_wrong_shape_says_so(vision, message):
    config = ClipConfig.from_dict({**SMALL, "vision_cfg": {**SMALL["vision_cfg"], **vision}})
    with pytest.raises(ValueError, match=message):
        create_model(config)


def test_resnet_flops_are_counted_from_the_model():
    from wit_builder.train.flops import step_flops

    flops = step_flops(model_config("RN50"), 256)
    assert 11e9 < flops.vision < 12.5e9  # about 5.8 G multiply-adds: the paper's RN50 at 224 px


@pytest.mark.slow
def test_open_clip_builds_the_resnet_export_and_gives_the_same_embeddings(tmp_path):
    if importlib.util.find_spec("open_clip") is None:
        pytest.skip("make install adds open_clip_torch (without its dependencies)")
    here = Path(__file__).parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(here / "torchvision_stub"), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, str(here / "open_clip_resnet_parity.py"), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["shapes_differ"] == [] and found["theirs_visual"] == "ModifiedResNet"
    assert found["image"] < 1e-5 and found["text"] < 1e-5, found
