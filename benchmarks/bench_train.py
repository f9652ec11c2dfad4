"""Benchmark: the trainer's step (forward, backward, optimiser) in samples/s and model FLOPs
utilisation, on synthetic tensors and on real shards.

    python benchmarks/bench_train.py --model ViT-B-16 --batch-size 256 [--compile] [--steps 30]
                                     [--warmup 10] [--data SHARDS --workers 8] [--precision auto]
                                     [--peak-tflops T] [--json OUT] [--profile N]

The step is ``wit_builder.train.trainer.Trainer.train_step`` itself (autocast bf16 on a GPU,
fused AdamW, gradient clipping, the CLIP loss), on one device. With ``--data`` the batches come
from the shards through the trainer's own data stream (pinned memory, uint8 pixels normalised
on the device); without it, from tensors made once on the device, so only the step is timed.
Each case runs ``--warmup`` steps (compilation included), then times ``--steps`` steps between
two device synchronisations, with no host sync inside (the loss stays on the device).

Prints samples/s, step time, the FLOPs per sample with the formula they come from
(``wit_builder.train.flops``), and MFU against the GPU's dense bf16 peak (``--peak-tflops`` for
a GPU not in the table; none on a CPU). ``--json`` appends the result as one JSON line, for
``benchmarks/RESULTS.md``; ``--profile N`` profiles N more steps with ``torch.profiler`` and
prints the operators that take the most time (on the GPU, its kernels' time).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch

from wit_builder.train.configs import MODEL_CONFIGS
from wit_builder.train.flops import FORMULA, peak_tflops, step_flops

WORDS = ("red", "circle", "a", "the", "on", "beach", "dog", "sunset", "city", "street", "photo", "of")


def build_trainer(args: argparse.Namespace, out: Path):
    """A one-device ``Trainer`` with a small tokenizer trained on the spot (the vocabulary size
    does not change the step's FLOPs: ids are looked up, not multiplied)."""
    from wit_builder.tokenizer.bpe import train_clip_bpe
    from wit_builder.train.distributed import init_distributed
    from wit_builder.train.settings import TrainSettings
    from wit_builder.train.trainer import Trainer

    tokenizer = args.tokenizer
    if tokenizer is None:
        rng = random.Random(0)
        captions = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(2000)]
        tokenizer = str(out / "tokenizer.json")
        Path(tokenizer).write_text(train_clip_bpe(iter(captions), 1000, 2).to_str())
    settings = TrainSettings(
        train_data=args.data or "unused", tokenizer=tokenizer, model=args.model, batch_size=args.batch_size,
        workers=args.workers, precision=args.precision, torchcompile=args.compile, out=str(out / "run"),
        warmup=10, steps=args.warmup + args.steps,
    )  # fmt: skip
    return Trainer(settings, init_distributed())


def synthetic_batches(trainer, batch_size: int):
    """One batch, made once on the device, handed out again and again."""
    from wit_builder.train.data import Batch

    config, device = trainer.config, trainer.device
    size, context = config.vision_cfg.image_size, config.text_cfg.context_length
    images = torch.randint(0, 256, (batch_size, 3, size, size), dtype=torch.uint8, device=device)
    tokens = torch.randint(1, trainer.tokenizer.vocab_size - 1, (batch_size, context), device=device)
    tokens[:, 20] = trainer.tokenizer.end_id  # captions of 20 tokens
    batch = Batch(images, tokens, tuple(str(i) for i in range(batch_size)), 0, (0, 0))
    while True:
        yield batch


def shard_batches(trainer, data: str):
    """The trainer's own data stream over the shards, pass after pass."""
    from wit_builder.train.data import resolve_urls

    yield from trainer.data_loader(resolve_urls(data))


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        trainer = build_trainer(args, Path(folder))
        device = trainer.device
        batches = shard_batches(trainer, args.data) if args.data else synthetic_batches(trainer, args.batch_size)

        def sync() -> None:
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        for _ in range(args.warmup):
            loss = trainer.train_step([next(batches)])
        sync()
        started = time.monotonic()
        for _ in range(args.steps):
            loss = trainer.train_step([next(batches)])
        sync()
        seconds = time.monotonic() - started
        profile = profile_steps(trainer, batches, args.profile, sync) if args.profile else None
        flops = step_flops(trainer.config, args.batch_size)
        samples_per_second = args.steps * args.batch_size / seconds
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        peak = args.peak_tflops or (peak_tflops(name) if device.type == "cuda" else None)
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "device": name,
            "torch": torch.__version__,
            "model": args.model,
            "batch_size": args.batch_size,
            "precision": trainer.precision,
            "compile": args.compile,
            "data": "shards" if args.data else "synthetic",
            "workers": args.workers if args.data else 0,
            "steps_timed": args.steps,
            "step_ms": round(1000 * seconds / args.steps, 2),
            "samples_per_second": round(samples_per_second, 1),
            "train_gflops_per_sample": round(flops.train / 1e9, 3),
            "achieved_tflops": round(samples_per_second * flops.train / 1e12, 3),
            "peak_tflops": peak,
            "mfu": round(samples_per_second * flops.train / (peak * 1e12), 4) if peak else None,
            "final_loss": round(float(loss), 4),
        }
    if profile is not None:
        result["profile"] = profile
    return result


def profile_steps(trainer, batches, steps: int, sync) -> str:
    """Where a step's time goes: ``torch.profiler`` over ``steps`` more steps, the operators
    with the most self time on the device (CPU time on a CPU), as a table."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if trainer.device.type == "cuda" else [])
    with profile(activities=activities) as profiler:
        for _ in range(steps):
            trainer.train_step([next(batches)])
        sync()
    key = "self_device_time_total" if trainer.device.type == "cuda" else "self_cpu_time_total"
    return profiler.key_averages().table(sort_by=key, row_limit=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-16", choices=sorted(MODEL_CONFIGS))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", default="auto", help="auto: amp_bf16 on a GPU, fp32 on a CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--data", help="shards (a shard folder or URLs): time the step fed by the data stream")
    parser.add_argument("--tokenizer", help="the shards' tokenizer.json (default: a small one made here)")
    parser.add_argument("--workers", type=int, default=8, help="data-loader workers with --data")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if not in the table")
    parser.add_argument("--json", help="append the result to this file as one JSON line")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="then profile N more steps and print where the time goes"
    )
    args = parser.parse_args()
    result = run(args)
    print(f"{result['model']} on {result['device']} ({result['precision']}, batch {result['batch_size']}, "
          f"{'compiled' if result['compile'] else 'eager'}, {result['data']} data)")  # fmt: skip
    print(f"  {result['samples_per_second']:,.1f} samples/s, {result['step_ms']:.1f} ms a step")
    print(f"  {result['train_gflops_per_sample']:,.2f} GFLOPs a training sample: {FORMULA}")
    if result["mfu"] is None:
        print(f"  {result['achieved_tflops']:.3f} TFLOP/s achieved; MFU: no known peak for {result['device']}")
    else:
        print(f"  {result['achieved_tflops']:.1f} TFLOP/s of {result['peak_tflops']:.1f}: mfu={result['mfu']:.3f}")
    if "profile" in result:
        print(f"where the time of {args.profile} step(s) goes (torch.profiler):")
        print(result.pop("profile"))
    if args.json:
        with open(args.json, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
