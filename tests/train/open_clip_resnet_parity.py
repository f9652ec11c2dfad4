"""Run in a subprocess by test_resnet (with the stand-in torchvision on the path): our RN50 has
open_clip's parameter names and shapes, and a small ResNet CLIP exported by ``wit-train export``
is built by open_clip and gives the same embeddings. Prints one JSON line.

    python open_clip_resnet_parity.py WORK_DIR
"""

import json
import sys
from pathlib import Path

import open_clip
import torch

from wit_builder.tokenizer.bpe import train_clip_bpe
from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train.checkpoints import save_checkpoint
from wit_builder.train.cli import main as train_main
from wit_builder.train.configs import ClipConfig, model_config
from wit_builder.train.factory import create_model

work = Path(sys.argv[1])
theirs_rn50 = open_clip.create_model("RN50").state_dict()
with torch.device("meta"):
    ours_rn50 = create_model(model_config("RN50")).state_dict()
shapes_differ = sorted(
    name
    for name in set(theirs_rn50) | set(ours_rn50)
    if name not in theirs_rn50 or name not in ours_rn50 or theirs_rn50[name].shape != ours_rn50[name].shape
)

captions = [
    f"a {c} {s} on a {b} background"
    for c in ("red", "blue", "green")
    for s in ("circle", "square")
    for b in ("white", "black", "grey")
] * 20
tokenizer_json = train_clip_bpe(captions, vocab_size=600, min_frequency=1).to_str()
tokenizer = CaptionTokenizer(tokenizer_json, 77)
small = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": [1, 2, 1, 1], "width": 16, "patch_size": None, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": tokenizer.vocab_size, "width": 64, "heads": 2, "layers": 1},
}
config = ClipConfig.from_dict(small)
torch.manual_seed(0)
ours = create_model(config, tokenizer.end_id)
with torch.no_grad():  # batch norms that are not the identity, so the comparison means something
    for name, tensor in ours.state_dict().items():
        if name.endswith(("bn1.weight", "bn2.weight", "bn3.weight", "running_var")):
            tensor.uniform_(0.5, 1.5)
        elif name.endswith(("running_mean", ".bias")) and "visual" in name:
            tensor.normal_(0, 0.1)
ours.eval()
state = {"step": 0, "epoch": 0, "model_name": "RN-small", "model_config": config.as_dict(),
         "tokenizer_json": tokenizer_json, "end_token_id": tokenizer.end_id, "model": ours.state_dict()}  # fmt: skip
save_checkpoint(state, str(work / "run"), 0)
assert train_main(["export", "--checkpoint", str(work / "run"), "--out", str(work / "export")]) == 0
open_clip.add_model_config(str(work / "export"))
theirs = open_clip.create_model("RN-small-wit", pretrained=str(work / "export" / "RN-small-wit.pt")).eval()
pixels = torch.randn(3, 3, 64, 64)
ids = torch.as_tensor(tokenizer(["a red circle on a white background", "a blue square", "green"]))
with torch.no_grad():
    image = (ours.encode_image(pixels) - theirs.encode_image(pixels, normalize=True)).abs().max().item()
    text = (ours.encode_text(ids) - theirs.encode_text(ids, normalize=True)).abs().max().item()
print(
    json.dumps(
        {"shapes_differ": shapes_differ, "image": image, "text": text, "theirs_visual": type(theirs.visual).__name__}
    )
)
