"""Run in a subprocess by test_training (with the stand-in torchvision on the path): build
open_clip's model from our export and print the largest difference from our embeddings.

    python open_clip_parity.py EXPORT_DIR RUN_DIR NAME
"""

import json
import sys

import open_clip
import torch
from PIL import Image

from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
from wit_builder.train.configs import ClipConfig
from wit_builder.train.factory import create_model
from wit_builder.train.transforms import eval_view

export, run, name = sys.argv[1:4]
open_clip.add_model_config(export)
theirs = open_clip.create_model(name, pretrained=f"{export}/{name}.pt").eval()
state = load_checkpoint(resolve_checkpoint(run))
ours = create_model(ClipConfig.from_dict(state["model_config"]))
ours.load_state_dict(state["model"])
ours.eval()
tokenizer = CaptionTokenizer.from_file(f"{export}/tokenizer.json")
ids = torch.as_tensor(tokenizer(["a picture of a large red circle on a white background", "two blue squares"]))
size = state["model_config"]["vision_cfg"]["image_size"]
pixels = torch.stack([eval_view(Image.new("RGB", (64, 80), c), size) for c in [(200, 20, 20), (20, 20, 200)]])
with torch.no_grad():
    image = (ours.encode_image(pixels) - theirs.encode_image(pixels, normalize=True)).abs().max().item()
    text = (ours.encode_text(ids) - theirs.encode_text(ids, normalize=True)).abs().max().item()
print(
    json.dumps(
        {
            "image": image,
            "text": text,
            "open_clip": open_clip.__version__,
            "logit_scale": [ours.logit_scale.item(), theirs.logit_scale.item()],
        }
    )
)
