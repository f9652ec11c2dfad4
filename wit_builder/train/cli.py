"""``wit-train``: train, evaluate and export CLIP models on WebDataset shards.

    torchrun --nproc_per_node=8 -m wit_builder.train train --train-data 'gs://b/shards/{000000..000999}.tar' \\
        --tokenizer RUN/tokenizer --model ViT-B-32 --batch-size 256 --epochs 32 --out gs://b/runs/b32
    wit-train eval --checkpoint gs://b/runs/b32 --val-data 'gs://b/val/{000..009}.tar'
    wit-train export --checkpoint gs://b/runs/b32 --out export/

Flag names are open_clip's where open_clip has one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

URLS_HELP = "WebDataset URLs: paths, brace patterns, '::'-joined lists, http(s), gs://, s3://"


def _train_flags(p: argparse.ArgumentParser) -> None:
    from wit_builder.train.configs import MODEL_CONFIGS

    data = p.add_argument_group("data")
    data.add_argument("--train-data", metavar="URLS", required=True, help=URLS_HELP)
    data.add_argument("--val-data", metavar="URLS", help="held-out shards: retrieval is evaluated at the end")
    data.add_argument("--zeroshot-data", metavar="PATH", help="a folder of class folders, or shards with 'cls'")
    data.add_argument("--templates", metavar="FILE", help="zero-shot prompt templates, one per line, with {}")
    data.add_argument("--train-num-samples", type=int, help="samples per epoch (default: from sizes.json)")
    data.add_argument("--dataset-resampled", action="store_true", help="draw shards with replacement")
    data.add_argument("--shuffle-buffer", type=int, default=1000, help="samples in each worker's shuffle buffer")
    data.add_argument("--workers", type=int, default=4, help="data-loader workers per device")
    data.add_argument("--tokenizer", metavar="PATH", help="a tokenizer.json, or a folder holding one")
    model = p.add_argument_group("model and optimisation")
    model.add_argument("--model", default="ViT-B-32", choices=sorted(MODEL_CONFIGS))
    model.add_argument("--batch-size", type=int, default=64, help="per device")
    model.add_argument("--epochs", type=int, default=32)
    model.add_argument("--steps", type=int, help="optimiser steps in all (instead of --epochs)")
    model.add_argument("--lr", type=float, default=5e-4)
    model.add_argument("--wd", type=float, default=0.2)
    model.add_argument("--beta1", type=float, default=0.9)
    model.add_argument("--beta2", type=float, default=0.98)
    model.add_argument("--eps", type=float, default=1e-6)
    model.add_argument("--warmup", type=int, default=10_000, help="warm-up steps")
    model.add_argument("--grad-clip-norm", type=float, default=1.0)
    model.add_argument("--accum-freq", type=int, default=1, help="batches per optimiser step")
    model.add_argument("--precision", choices=("auto", "fp32", "amp_bf16", "amp"), default="auto",
                       help="auto: amp_bf16 on GPU, fp32 on CPU")  # fmt: skip
    model.add_argument("--grad-checkpointing", action="store_true")
    model.add_argument("--torchcompile", action="store_true")
    model.add_argument("--local-loss", action="store_true", help="each rank computes its own rows of the logits")
    model.add_argument("--gather-with-grad", action="store_true", help="gather features with their gradients")
    model.add_argument("--seed", type=int, default=0)
    run = p.add_argument_group("run")
    run.add_argument("--out", metavar="DIR", required=True, help="checkpoints/, metrics.jsonl, eval.json")
    run.add_argument("--resume", metavar="CKPT", help="'latest' (in --out), a checkpoint, or a run folder")
    run.add_argument("--save-every-n-steps", type=int, default=1000)
    run.add_argument("--delete-previous-checkpoint", action="store_true")
    run.add_argument("--log-every-n-steps", type=int, default=100)


def _eval_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a training run's folder")
    p.add_argument("--val-data", metavar="URLS", help=URLS_HELP)
    p.add_argument("--zeroshot-data", metavar="PATH", help="a folder of class folders, or shards with 'cls'")
    p.add_argument("--classnames", metavar="FILE", help="class names for shards whose 'cls' is an index")
    p.add_argument("--templates", metavar="FILE", help="prompt templates, one per line, with {}")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--precision", choices=("auto", "fp32", "amp_bf16"), default="auto")
    p.add_argument("--out", metavar="FILE", help="also write the JSON here")


def _export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a training run's folder")
    p.add_argument("--out", metavar="DIR", required=True)
    p.add_argument("--name", help="the open_clip model name (default: MODEL-wit)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wit-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary, configure in (
        ("train", "train a CLIP model on shards (run under torchrun for several devices)", _train_flags),
        ("eval", "retrieval and zero-shot metrics of a checkpoint, as one JSON object", _eval_flags),
        ("export", "write an open_clip model config and weights", _export_flags),
    ):
        configure(commands.add_parser(name, help=summary, description=summary))
    return parser


def _eval(args: argparse.Namespace) -> int:
    import torch

    from wit_builder.tokenizer.encode import CaptionTokenizer
    from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
    from wit_builder.train.configs import ClipConfig
    from wit_builder.train.evaluate import evaluate, write_results
    from wit_builder.train.model import CLIP
    from wit_builder.train.trainer import resolve_precision

    if not (args.val_data or args.zeroshot_data):
        raise ValueError("give --val-data, --zeroshot-data or both")
    state = load_checkpoint(resolve_checkpoint(args.checkpoint))
    config = ClipConfig.from_dict(state["model_config"])
    tokenizer = CaptionTokenizer(state["tokenizer_json"], config.text_cfg.context_length)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = CLIP(config, tokenizer.end_id)
    model.load_state_dict(state["model"])
    model.to(device)
    results = evaluate(model, tokenizer, args.val_data, args.zeroshot_data, args.templates, args.batch_size, device,
                       resolve_precision(args.precision, device), args.classnames)  # fmt: skip
    results["step"] = int(state["step"])
    if args.out:
        write_results(results, args.out)
    print(json.dumps(results))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            from wit_builder.train.trainer import run_training

            return run_training(args)
        if args.command == "eval":
            return _eval(args)
        from wit_builder.train.export import export

        for role, path in export(args.checkpoint, args.out, args.name).items():
            print(f"[export] {role}: {path}")
        return 0
    except (ValueError, FileNotFoundError) as error:
        # An error raised in a data-loader worker arrives with the worker's traceback in its
        # message; the user needs its last line.
        message = str(error).strip().splitlines()[-1] if "Traceback" in str(error) else str(error)
        print(f"wit-train {args.command}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
