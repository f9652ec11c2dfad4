"""The model: OpenAI/open_clip parameter names and sizes, SDPA attention equal to nn.MultiheadAttention."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from wit_builder.train.configs import ClipConfig, model_config
from wit_builder.train.factory import create_model
from wit_builder.train.model import LOGIT_SCALE_MAX, SelfAttention

# Parameter counts of OpenAI's released CLIP models (vocabulary 49,408, context 77).
OPENAI_PARAMETERS = {"ViT-B-32": 151_277_313, "ViT-B-16": 149_620_737, "ViT-L-14": 427_616_513, "RN50": 102_007_137}


@pytest.mark.parametrize("name", sorted(OPENAI_PARAMETERS))
def test_named_configs_have_the_papers_sizes(name):
    with torch.device("meta"):
        model = create_model(model_config(name))
    assert sum(p.numel() for p in model.parameters()) == OPENAI_PARAMETERS[name]


def test_state_dict_names_are_openais():
    names = set(create_model(model_config("tiny").with_vocab(600)).state_dict())
    expected = {
        "positional_embedding", "text_projection", "logit_scale", "token_embedding.weight",
        "ln_final.weight", "ln_final.bias", "visual.class_embedding", "visual.positional_embedding",
        "visual.proj", "visual.conv1.weight", "visual.ln_pre.weight", "visual.ln_pre.bias",
        "visual.ln_post.weight", "visual.ln_post.bias",
    }  # fmt: skip
    block = ("ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
             "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
             "mlp.c_proj.weight", "mlp.c_proj.bias")  # fmt: skip
    for tower in ("visual.transformer", "transformer"):
        for layer in range(3):
            expected |= {f"{tower}.resblocks.{layer}.{suffix}" for suffix in block}
    assert names == expected


@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_torch_multihead_attention_with_the_same_weights(causal):
    torch.manual_seed(0)
    ours = SelfAttention(64, 4)
    reference = nn.MultiheadAttention(64, 4, batch_first=True)
    reference.load_state_dict(ours.state_dict())  # the same names, so the same weights
    x = torch.randn(3, 9, 64)
    mask = torch.triu(torch.full((9, 9), float("-inf")), 1) if causal else None
    expected, _ = reference(x, x, x, need_weights=False, attn_mask=mask)
    torch.testing.assert_close(ours(x, causal), expected, atol=1e-5, rtol=1e-5)


def test_text_features_pool_at_the_end_token_and_ignore_what_follows():
    torch.manual_seed(0)
    model = create_model(model_config("tiny").with_vocab(100)).eval()
    tokens = torch.zeros(2, 77, dtype=torch.long)
    tokens[:, 0], tokens[:, 1:4], tokens[:, 4] = 98, torch.tensor([5, 6, 7]), 99
    tokens[1, 5:9] = 42  # after the end token: causal attention means it cannot matter
    features = model.encode_text(tokens)
    torch.testing.assert_close(features[0], features[1])
    assert torch.allclose(features.norm(dim=-1), torch.ones(2))


def test_temperature_starts_at_one_over_0_07_and_is_clamped_at_100():
    model = create_model(model_config("tiny").with_vocab(100))
    assert math.isclose(model.logit_scale.exp().item(), 1 / 0.07, rel_tol=1e-6)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    model.clamp_logit_scale()
    assert math.isclose(model.logit_scale.exp().item(), LOGIT_SCALE_MAX, rel_tol=1e-5)


def test_image_features_and_gradient_checkpointing_give_the_same_gradients():
    torch.manual_seed(0)
    model = create_model(model_config("tiny").with_vocab(100))
    size = model.visual.image_size
    pixels = torch.randn(2, 3, size, size)
    model.encode_image(pixels).sum().backward()
    plain = model.visual.conv1.weight.grad.clone()
    model.zero_grad()
    model.set_grad_checkpointing(True)
    model.encode_image(pixels).sum().backward()
    torch.testing.assert_close(model.visual.conv1.weight.grad, plain)


def test_config_round_trips_and_unknown_names_are_clear():
    config = model_config("ViT-L-14").with_vocab(1000)
    assert ClipConfig.from_dict(config.as_dict()) == config
    with pytest.raises(ValueError, match="unknown model 'ViT-X'"):
        model_config("ViT-X")
