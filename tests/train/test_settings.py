"""``wit-train train``'s compile settings: the mode reaches ``torch.compile``, and a mode without
``--torchcompile`` is refused rather than silently ignored."""

from __future__ import annotations

import pytest
import torch

from wit_builder.tokenizer.bpe import train_clip_bpe
from wit_builder.train.cli import main as train_main
from wit_builder.train.distributed import Placement
from wit_builder.train.settings import TrainSettings
from wit_builder.train.trainer import Trainer


def test_a_compile_mode_without_torchcompile_is_a_usage_error(tmp_path, capsys):
    flags = ["train", "--train-data", str(tmp_path), "--out", str(tmp_path / "out"), "--torchcompile-mode",
             "reduce-overhead"]  # fmt: skip
    assert train_main(flags) == 2
    assert "torchcompile_mode 'reduce-overhead' needs torchcompile (--torchcompile)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs torchcompile"):
        TrainSettings(train_data="x", out="y", torchcompile_mode="max-autotune")
    with pytest.raises(SystemExit) as stopped:  # argparse refuses a mode that is not one of the choices
        train_main(["train", "--train-data", "x", "--out", "y", "--torchcompile", "--torchcompile-mode", "fast"])
    assert stopped.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["default", "reduce-overhead", "max-autotune-no-cudagraphs"])
def test_the_mode_reaches_torch_compile(mode, tmp_path, monkeypatch):
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text(train_clip_bpe(iter(["a red circle", "a blue square"] * 50), 600, 1).to_str())
    asked = {}

    def compile_(model, **options):
        asked.update(options, model=model)
        return model

    monkeypatch.setattr(torch, "compile", compile_)
    settings = TrainSettings(
        train_data="unused",
        out=str(tmp_path / "out"),
        tokenizer=str(tokenizer),
        model="tiny",
        torchcompile=True,
        torchcompile_mode=mode,
    )
    trainer = Trainer(settings, Placement(rank=0, world=1, local_rank=0, device=torch.device("cpu")))
    assert asked == {"mode": mode, "model": trainer.model}
