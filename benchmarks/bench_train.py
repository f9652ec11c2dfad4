"""Benchmark: the trainer's step (forward, backward, optimiser) in samples/s and model FLOPs
utilisation, on synthetic tensors and on real shards.

    python benchmarks/bench_train.py --model ViT-B-16 --batch-size 256 [--compile] [--compile-mode MODE]
                                     [--steps 30] [--warmup 10] [--data SHARDS|photo --workers 8]
                                     [--grad-checkpointing] [--sdpa auto|flash|efficient|cudnn|math]
                                     [--no-fused-adamw] [--precision auto] [--peak-tflops T]
                                     [--json OUT] [--profile N]

The step is ``wit_builder.train.trainer.Trainer.train_step`` itself (autocast bf16 on a GPU,
fused AdamW, gradient clipping, the CLIP loss with bf16 logits and an fp32 cross-entropy), on one
device. With ``--data`` the batches come from shards through the trainer's own data stream
(pinned memory, uint8 pixels normalised on the device): a shard folder or URLs, or ``photo`` for
shards of photo-like 256 px JPEGs written on the spot (``benchmarks/photo_shards.py``, the
size the download stage stores; ``--stored-size`` to change it). Without it, from tensors made
once on the device, so only the step is timed. Each case runs ``--warmup`` steps (compilation
included), then times ``--steps`` steps between two device synchronisations, with no host sync
inside (the loss stays on the device).

The levers the flags turn: ``--compile`` (``--compile-mode reduce-overhead`` or ``max-autotune``
replay CUDA graphs), ``--sdpa`` (force one attention kernel; ``auto`` lets PyTorch pick flash),
``--no-fused-adamw`` (the multi-tensor AdamW instead of the fused one), ``--grad-checkpointing``
(recompute activations: less memory for a larger batch, at ~1.3x the FLOPs, which MFU does not
count), ``--batch-size``.

Prints samples/s, step time, peak GPU memory, the FLOPs per sample with the formula they come
from (``wit_builder.train.flops``), MFU against the GPU's dense bf16 peak (``--peak-tflops`` for a
GPU not in the table; none on a CPU), and on a GPU how many host synchronisations one step makes
(``torch.cuda.set_sync_debug_mode``; 0 is the goal). ``--profile N`` profiles N more steps with
``torch.profiler`` and prints where the time goes, by kind of kernel
(``wit_builder.train.step_profile``), then the top operators. ``--json`` appends the result as
one JSON line, for ``benchmarks/bench_train_sweep.py`` and ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import time
import warnings
from pathlib import Path

import torch

from wit_builder.train.configs import model_names
from wit_builder.train.flops import FORMULA, peak_tflops, step_flops
from wit_builder.train.settings import COMPILE_MODES

SDPA_BACKENDS = ("auto", "flash", "efficient", "cudnn", "math")
PHOTO = "photo"


def write_data(args: argparse.Namespace, out: Path) -> str | None:
    """The shards to read: ``--data`` itself, photo-like shards written into ``out``, or None."""
    if args.data != PHOTO:
        return args.data
    from photo_shards import write_photo_shards

    folder = out / "shards"
    folder.mkdir()
    shards = max(8, 2 * args.workers)
    write_photo_shards(folder, args.photo_samples, shards, args.stored_size)
    return str(folder)


def write_tokenizer(args: argparse.Namespace, out: Path) -> str:
    """``--tokenizer``, or a small CLIP BPE trained on the spot on captions like the photo
    shards' (the vocabulary size does not change the step's FLOPs: ids are looked up, not
    multiplied)."""
    if args.tokenizer:
        return args.tokenizer
    from photo_shards import random_caption

    from wit_builder.tokenizer.bpe import train_clip_bpe

    rng = random.Random(0)
    path = out / "tokenizer.json"
    path.write_text(train_clip_bpe((random_caption(rng) for _ in range(2000)), 1000, 2).to_str())
    return str(path)


def build_trainer(args: argparse.Namespace, out: Path, data: str | None):
    """A one-device ``Trainer`` with the levers the flags set."""
    from wit_builder.train.distributed import init_distributed
    from wit_builder.train.optim import build_optimizer
    from wit_builder.train.settings import TrainSettings
    from wit_builder.train.trainer import Trainer

    settings = TrainSettings(
        train_data=data or "unused",
        tokenizer=write_tokenizer(args, out),
        model=args.model,
        batch_size=args.batch_size,
        workers=args.workers,
        precision=args.precision,
        torchcompile=args.compile,
        torchcompile_mode=args.compile_mode,
        grad_checkpointing=args.grad_checkpointing,
        out=str(out / "run"),
        warmup=10,
        steps=args.warmup + args.steps,
    )
    trainer = Trainer(settings, init_distributed())
    if args.no_fused_adamw:
        trainer.optimizer = build_optimizer(
            trainer.model, settings.lr, settings.wd, (settings.beta1, settings.beta2), settings.eps, fused=False
        )
    return trainer


def attention_backend(name: str):
    """A context that restricts SDPA to one kernel (``auto``: PyTorch's choice)."""
    if name == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}  # fmt: skip
    return sdpa_kernel(backends[name])


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


def host_syncs(trainer, batches) -> list[str]:
    """The host synchronisations one step makes, as CUDA's sync debug mode reports them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer.train_step([next(batches)])
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message)]


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder, attention_backend(args.sdpa):
        data = write_data(args, Path(folder))
        trainer = build_trainer(args, Path(folder), data)
        device = trainer.device
        on_gpu = device.type == "cuda"
        batches = shard_batches(trainer, data) if data else synthetic_batches(trainer, args.batch_size)

        def sync() -> None:
            if on_gpu:
                torch.cuda.synchronize(device)

        for _ in range(args.warmup):
            loss = trainer.train_step([next(batches)])
        syncs = host_syncs(trainer, batches) if on_gpu else None
        sync()
        started = time.monotonic()
        for _ in range(args.steps):
            loss = trainer.train_step([next(batches)])
        sync()
        seconds = time.monotonic() - started
        profile = profile_steps(trainer, batches, args.profile, sync) if args.profile else None
        batches.close()  # stops the data-loader workers before their shards are deleted
        flops = step_flops(trainer.config, args.batch_size)
        samples_per_second = args.steps * args.batch_size / seconds
        name = torch.cuda.get_device_name(device) if on_gpu else "cpu"
        peak = args.peak_tflops or (peak_tflops(name) if on_gpu else None)
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "device": name,
            "torch": torch.__version__,
            "model": args.model,
            "batch_size": args.batch_size,
            "precision": trainer.precision,
            "compile": args.compile,
            "compile_mode": args.compile_mode if args.compile else None,
            "sdpa": args.sdpa,
            "fused_adamw": on_gpu and not args.no_fused_adamw,
            "grad_checkpointing": args.grad_checkpointing,
            "data": ("photo shards" if args.data == PHOTO else "shards") if data else "synthetic",
            "stored_size": args.stored_size if args.data == PHOTO else None,
            "workers": args.workers if data else 0,
            "warmup_steps": args.warmup,
            "steps_timed": args.steps,
            "step_ms": round(1000 * seconds / args.steps, 2),
            "samples_per_second": round(samples_per_second, 1),
            "train_gflops_per_sample": round(flops.train / 1e9, 3),
            "achieved_tflops": round(samples_per_second * flops.train / 1e12, 3),
            "peak_tflops": peak,
            "mfu": round(samples_per_second * flops.train / (peak * 1e12), 4) if peak else None,
            "peak_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if on_gpu else None,
            "host_syncs_per_step": None if syncs is None else len(syncs),
            "host_sync_examples": (syncs or [])[:3],
            "final_loss": round(float(loss), 4),
        }
    if profile is not None:
        result.update(profile)
    return result


def profile_steps(trainer, batches, steps: int, sync) -> dict:
    """Where a step's time goes: ``torch.profiler`` over ``steps`` more steps, summarised by kind
    of kernel (``step_profile``), and the operators with the most self time on the device
    (CPU time on a CPU)."""
    from torch.profiler import ProfilerActivity, profile

    from wit_builder.train import step_profile

    on_gpu = trainer.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with profile(activities=activities) as profiler:
        started = time.monotonic()
        for _ in range(steps):
            trainer.train_step([next(batches)])
        sync()
        wall_ms = 1000 * (time.monotonic() - started) / steps
    averages = profiler.key_averages()
    shares = step_profile.summarise(step_profile.timed_operators(averages, on_gpu), steps)
    key = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    return {
        "profile_steps": steps,
        "profile_summary": step_profile.markdown(shares, wall_ms, on_gpu),
        "profile_table": averages.table(sort_by=key, row_limit=15),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-16", choices=model_names())
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", default="auto", help="auto: amp_bf16 on a GPU, fp32 on a CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--compile-mode", choices=COMPILE_MODES, help="torch.compile's mode (implies --compile)")
    parser.add_argument("--grad-checkpointing", action="store_true", help="recompute activations in the backward")
    parser.add_argument("--sdpa", default="auto", choices=SDPA_BACKENDS, help="the attention kernel (auto: PyTorch's)")
    parser.add_argument("--no-fused-adamw", action="store_true", help="multi-tensor AdamW instead of the fused one")
    parser.add_argument("--data", help="shards (a folder or URLs), or 'photo' for photo-like shards made here")
    parser.add_argument("--photo-samples", type=int, default=8192, help="samples in the photo shards")
    parser.add_argument("--stored-size", type=int, default=256, help="the photo shards' pictures, short side in px")
    parser.add_argument("--tokenizer", help="the shards' tokenizer.json (default: a small one made here)")
    parser.add_argument("--workers", type=int, default=8, help="data-loader workers with --data")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if not in the table")
    parser.add_argument("--json", help="append the result to this file as one JSON line")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="then profile N more steps and print where the time goes"
    )
    args = parser.parse_args(argv)
    if args.compile_mode:
        args.compile = True
    else:
        args.compile_mode = "default"
    return args


def describe(result: dict) -> str:
    """One line naming the case: model, device, precision, batch and each lever set."""
    levers = [
        "compiled" + ("" if result["compile_mode"] in (None, "default") else f" ({result['compile_mode']})")
        if result["compile"]
        else "eager"
    ]
    if result["sdpa"] != "auto":
        levers.append(f"SDPA {result['sdpa']}")
    if result["device"] != "cpu" and not result["fused_adamw"]:
        levers.append("multi-tensor AdamW")
    if result["grad_checkpointing"]:
        levers.append("grad checkpointing")
    data = result["data"] + (f", {result['workers']} workers" if result["workers"] else "")
    return (
        f"{result['model']} on {result['device']} ({result['precision']}, batch {result['batch_size']}, "
        f"{', '.join(levers)}; {data})"
    )


def main() -> None:
    args = parse_args()
    if args.data and args.data != PHOTO and not os.path.exists(args.data) and "://" not in args.data:
        raise SystemExit(f"bench_train.py: --data {args.data}: no such shard folder or file")
    result = run(args)
    print(describe(result))
    print(f"  {result['samples_per_second']:,.1f} samples/s, {result['step_ms']:.1f} ms a step")
    print(f"  {result['train_gflops_per_sample']:,.2f} GFLOPs a training sample: {FORMULA}")
    if result["mfu"] is None:
        print(f"  {result['achieved_tflops']:.3f} TFLOP/s achieved; MFU: no known peak for {result['device']}")
    else:
        print(f"  {result['achieved_tflops']:.1f} TFLOP/s of {result['peak_tflops']:.1f}: mfu={result['mfu']:.3f}")
    if result["peak_memory_gib"] is not None:
        print(
            f"  peak GPU memory {result['peak_memory_gib']:.1f} GiB; host syncs in a step: "
            f"{result['host_syncs_per_step']} {result['host_sync_examples'] or ''}"
        )
    if "profile_summary" in result:
        print(f"where the time of {args.profile} step(s) goes (torch.profiler):")
        print(result["profile_summary"])
        print(result["profile_table"])
    if args.json:
        with open(args.json, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
