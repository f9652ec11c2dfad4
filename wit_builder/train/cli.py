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
import os
from collections.abc import Sequence

from wit_builder.stage_settings import add_flags, from_flags
from wit_builder.stderr import DEBUG_HELP, OneLineParser, end_process
from wit_builder.train.settings import EvalSettings, TrainSettings


def _train_flags(p: argparse.ArgumentParser) -> None:
    add_flags(p, TrainSettings)


def _eval_flags(p: argparse.ArgumentParser) -> None:
    add_flags(p, EvalSettings)


def run(settings: TrainSettings, _beam_args: Sequence[str] = ()) -> int:
    """Train in this process (``wit-builder run``'s train stage; its errors are said as every
    stage's are)."""
    from wit_builder.io.folder_lock import lock_out
    from wit_builder.train.trainer import run_training

    lock_out(settings.out)
    return run_training(settings)


def _export_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a training run's folder")
    p.add_argument("--out", metavar="DIR", required=True)
    p.add_argument("--name", help="the open_clip model name (default: MODEL-wit)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="wit-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary, configure in (
        ("train", "train a CLIP model on shards (run under torchrun for several devices)", _train_flags),
        ("eval", "retrieval and zero-shot metrics of a checkpoint, as one JSON object", _eval_flags),
        ("export", "write an open_clip model config and weights", _export_flags),
    ):
        sub = commands.add_parser(name, help=summary, description=summary)
        configure(sub)
        sub.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    return parser


def _eval(settings: EvalSettings) -> int:
    from wit_builder.errors import UsageError
    from wit_builder.train.evaluate import evaluate, load_trained, write_results
    from wit_builder.train.precision import resolve_precision

    if not (settings.val_data or settings.zeroshot_data):
        raise UsageError("give --val-data, --zeroshot-data or both")
    model, tokenizer, state = load_trained(settings.checkpoint)
    device = next(model.parameters()).device
    precision = resolve_precision(settings.precision, device)
    results = evaluate(
        model,
        tokenizer,
        settings.val_data,
        settings.zeroshot_data,
        settings.templates,
        settings.batch_size,
        device,
        precision,
        settings.classnames,
    )
    results["step"] = int(state["step"])
    if settings.out:
        write_results(results, settings.out)
    print(json.dumps(results))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from wit_builder.command_run import run_command

    args = build_parser().parse_args(argv)
    return run_command(f"wit-train {args.command}", args.debug, lambda: _command(args))


def _command(args: argparse.Namespace) -> int:
    """The work of ``wit-train COMMAND``."""
    from wit_builder.io.folder_lock import lock_out
    from wit_builder.io.stage_folders import check_apart

    if args.command == "train":
        from wit_builder.train.trainer import run_training

        settings = from_flags(TrainSettings, args)
        check_apart(settings)
        if os.environ.get("RANK", "0") == "0":  # torchrun's other ranks are the same training
            lock_out(settings.out)  # one training per folder at a time
        return run_training(settings)
    if args.command == "eval":
        return _eval(from_flags(EvalSettings, args))
    from wit_builder.train.export import export

    for role, path in export(args.checkpoint, args.out, args.name).items():
        print(f"[export] {role}: {path}")
    return 0


def console_main() -> None:
    """The ``wit-train`` executable: ``main``, then the process ends without the interpreter's
    teardown (``stderr.end_process``)."""
    end_process(main())


if __name__ == "__main__":
    console_main()
