"""``wit-train train``: the training loop, under torchrun or alone.

One step takes ``--accum-freq`` batches from the data stream, computes the contrastive loss
over them (open_clip's feature-caching accumulation, so the contrastive batch is the whole
accumulated batch), clips, steps AdamW, clamps the temperature, and every
``--log-every-n-steps`` writes loss, temperature, learning rate and samples/s (total and per
device). Checkpoints hold the model, the optimiser, the step, the RNG states and each data
stream's position, so ``--resume latest`` continues with exactly the next batch.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from wit_builder.errors import UsageError
from wit_builder.io.json_files import write_json
from wit_builder.train import checkpoints
from wit_builder.train.data import StreamSpec, TrainStream, count_samples, online_balance_of, resolve_urls
from wit_builder.train.distributed import Placement, all_gather_objects, barrier, init_distributed, shutdown
from wit_builder.train.factory import create_model
from wit_builder.train.host_memory import keep_large_freed_blocks
from wit_builder.train.loss import ClipLoss
from wit_builder.train.metrics_log import MetricsLog
from wit_builder.train.optim import build_optimizer, cosine_lr, set_lr
from wit_builder.train.precision import autocast, resolve_precision
from wit_builder.train.resume import data_start, restore, rng_state, starting_point
from wit_builder.train.settings import TrainSettings
from wit_builder.train.transforms import train_crop

log = logging.getLogger("wit_builder.train")


@dataclass
class Plan:
    """How long the run is, worked out once from the flags and the data."""

    total_steps: int
    steps_per_epoch: int
    global_batch: int
    samples_per_epoch: int | None


def plan_run(args: TrainSettings, urls: tuple[str, ...], world: int) -> Plan:
    global_batch = args.batch_size * args.accum_freq * world
    if args.online_balance and not args.train_num_samples:  # an epoch is what the draw keeps, on average
        samples = round(online_balance_of(urls, args.seed)[1])
        where = "the pool's expected samples per epoch (manifest.json's online_balance)"
    else:
        samples = args.train_num_samples or count_samples(urls)
        where = "--train-num-samples" if args.train_num_samples else "the shards' sizes.json"
    if samples and global_batch > samples:  # every step would pass over the data more than once
        raise UsageError(
            f"--batch-size {args.batch_size:,} x --accum-freq {args.accum_freq:,} x {world} process(es) = "
            f"{global_batch:,} samples a step, more than the {samples:,} an epoch holds ({where}); lower them"
        )
    steps_per_epoch = max(1, samples // global_batch) if samples else 0
    if args.steps:
        total = args.steps
    elif samples:
        total = args.epochs * steps_per_epoch
    else:
        raise UsageError(
            "cannot tell how long an epoch is: no sizes.json or manifest.json beside the shards; "
            "give --train-num-samples or --steps"
        )
    return Plan(total, steps_per_epoch or total, global_batch, samples)


def _json_safe(args: TrainSettings) -> dict:
    return {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None)))}


class Trainer:
    """The model, its optimiser and the step, wrapped for the placement (DDP, compile)."""

    def __init__(self, args: TrainSettings, placement: Placement):
        self.args = args
        self.placement = placement
        self.device = placement.device
        self.precision = resolve_precision(args.precision, self.device)
        if self.device.type == "cpu":
            keep_large_freed_blocks()  # each step's batch and activations reuse the last step's memory
        start = starting_point(args)
        self.resume_state = start.state
        self.config, self.model_name, self.tokenizer = start.config, start.model_name, start.tokenizer
        torch.manual_seed(args.seed)  # the same initial weights on every rank
        self.model = create_model(self.config, self.tokenizer.end_id).to(self.device)
        if args.grad_checkpointing:
            self.model.set_grad_checkpointing(True)
        self.optimizer = build_optimizer(
            self.model, args.lr, args.wd, (args.beta1, args.beta2), args.eps, fused=self.device.type == "cuda"
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "amp" else None
        self.step = 0
        self.positions: dict[int, tuple[int, int]] = {}
        self.consumed = 0
        if start.state is not None:
            self.step = restore(start.state, self.model, self.optimizer, self.scaler, placement)
        self.wrapped, self.forward = self._wrap(self.model)
        self.loss = ClipLoss(args.local_loss, args.gather_with_grad)

    def _wrap(self, model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The model under DDP when there are several ranks, and what a step calls (compiled
        with ``--torchcompile``)."""
        wrapped = model
        if self.placement.world > 1:
            ids = [self.placement.local_rank] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        forward = torch.compile(wrapped, mode=self.args.torchcompile_mode) if self.args.torchcompile else wrapped
        return wrapped, forward

    def data_loader(self, urls: tuple[str, ...]) -> DataLoader:
        args = self.args
        start, rotate, first_pass = data_start(self.resume_state, self.placement, max(1, args.workers))
        spec = StreamSpec(
            urls=urls,
            batch_size=args.batch_size,
            image_size=self.config.vision_cfg.image_size,
            seed=args.seed + 1000 * first_pass,
            resampled=args.dataset_resampled,
            shuffle_buffer=args.shuffle_buffer,
            rank=self.placement.rank,
            world=self.placement.world,
            balance=online_balance_of(urls, args.seed)[0] if args.online_balance else None,
            first_epoch=first_pass,
            captions=not args.first_caption,
        )
        self.positions = dict(start)
        self.consumed = int(self.resume_state["data"]["consumed"][self.placement.rank]) if start else 0
        stream = TrainStream(spec, self.tokenizer, train_crop, args.workers, start, rotate)
        options = {"prefetch_factor": 4, "persistent_workers": True} if args.workers else {}
        return DataLoader(
            stream, batch_size=None, num_workers=args.workers, pin_memory=self.device.type == "cuda", **options
        )

    def advance(self, batches: list) -> torch.Tensor:
        """One optimiser step on ``batches``: where each data stream now stands (what a
        checkpoint records, so a resume takes exactly the next batch), the step, then its loss."""
        for batch in batches:
            self.positions[batch.stream] = batch.position
            self.consumed += 1
        loss = self.train_step(batches)
        self.step += 1
        return loss

    def train_step(self, batches: list) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        images = [b.pixels(self.device) for b in batches]
        tokens = [b.tokens.to(self.device, non_blocking=True) for b in batches]
        if len(batches) == 1:
            with autocast(self.precision, self.device):
                image_features, text_features, scale = self.forward(images[0], tokens[0])
                loss = self.loss(image_features, text_features, scale)
            self._backward(loss)
        else:
            with torch.no_grad(), autocast(self.precision, self.device):
                cached = [self.forward(i, t)[:2] for i, t in zip(images, tokens, strict=False)]
            for j in range(len(batches)):
                last = j == len(batches) - 1
                sync = (
                    self.wrapped.no_sync()
                    if isinstance(self.wrapped, DistributedDataParallel) and not last
                    else (contextlib.nullcontext())
                )
                with sync:
                    with autocast(self.precision, self.device):
                        image_j, text_j, scale = self.forward(images[j], tokens[j])
                        all_images = torch.cat([c[0] for c in cached[:j]] + [image_j] + [c[0] for c in cached[j + 1 :]])
                        all_texts = torch.cat([c[1] for c in cached[:j]] + [text_j] + [c[1] for c in cached[j + 1 :]])
                        loss = self.loss(all_images, all_texts, scale)
                    self._backward(loss)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.args.grad_clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.model.clamp_logit_scale()
        return loss.detach()

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def checkpoint_state(self, epoch: int) -> dict:
        gathered = all_gather_objects(
            {
                "positions": {str(k): list(v) for k, v in self.positions.items()},
                "consumed": self.consumed,
                "rng": rng_state(self.device),
            },
            self.placement,
        )
        state = {
            "step": self.step,
            "epoch": epoch,
            "model_name": self.model_name,
            "model_config": self.config.as_dict(),
            "tokenizer_json": self.tokenizer.json,
            "end_token_id": self.tokenizer.end_id,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "args": _json_safe(self.args),
            "rng": [g["rng"] for g in gathered],
            "data": {
                "world": self.placement.world,
                "workers": max(1, self.args.workers),
                "positions": [g["positions"] for g in gathered],
                "consumed": [g["consumed"] for g in gathered],
            },
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state


def run_training(args: TrainSettings) -> int:
    placement = init_distributed()
    logging.basicConfig(
        level=logging.INFO if placement.is_main else logging.WARNING, format="[train] %(levelname)s %(message)s"
    )
    try:
        return _train(args, placement)
    finally:
        shutdown()


def _train(args: TrainSettings, placement: Placement) -> int:
    """The loop: a step per ``--accum-freq`` batches, its figures every ``--log-every-n-steps``,
    a checkpoint every ``--save-every-n-steps`` and at the end, then the evaluation."""
    urls = resolve_urls(args.train_data)
    trainer = Trainer(args, placement)
    plan = plan_run(args, urls, placement.world)
    metrics = MetricsLog(args.out, placement.is_main, trainer.step if trainer.resume_state else None)
    if placement.is_main:
        _announce(trainer, args, plan, urls, metrics)
    batches = iter(trainer.data_loader(urls))
    window = LogWindow(trainer, plan, metrics)
    while trainer.step < plan.total_steps:
        lr = cosine_lr(trainer.step, args.lr, args.warmup, plan.total_steps)
        set_lr(trainer.optimizer, lr)
        taken = window.wait_for(lambda: [next(batches) for _ in range(args.accum_freq)])
        loss = trainer.advance(taken)
        epoch = trainer.step / plan.steps_per_epoch
        if trainer.step % args.log_every_n_steps == 0 or trainer.step == plan.total_steps:
            window.close(loss, lr, epoch, taken[0])
        if trainer.step % args.save_every_n_steps == 0 or trainer.step == plan.total_steps:
            _save(trainer, args, placement, int(epoch))
    metrics.say(
        f"[train] done: step {trainer.step}, loss {window.last_loss:.4f}; checkpoints in "
        f"{checkpoints.checkpoint_dir(args.out)}"
    )
    if (args.val_data or args.zeroshot_data) and placement.is_main:
        _evaluate(trainer, args, metrics)
    barrier(placement)
    metrics.close()
    return 0


def _announce(trainer: Trainer, args: TrainSettings, plan: Plan, urls: tuple[str, ...], metrics: MetricsLog) -> None:
    """The run's first line, and ``args.json`` (the main process only)."""
    placement = trainer.placement
    parameters = sum(p.numel() for p in trainer.model.parameters())
    metrics.say(
        f"[train] {trainer.model_name}: {parameters / 1e6:.2f}M parameters, vocabulary "
        f"{trainer.config.text_cfg.vocab_size:,}; {len(urls)} shard(s), "
        f"{plan.samples_per_epoch or 'unknown'} samples per epoch; {plan.total_steps} steps of "
        f"{plan.global_batch} ({placement.world} x {args.batch_size} x {args.accum_freq}); "
        f"{trainer.precision} on {placement.device}"
    )
    write_json(f"{args.out.rstrip('/')}/args.json", _json_safe(args))


class LogWindow:
    """The steps since the last log line: their time, and the part of it spent waiting for data.
    ``close`` writes the figures of the window (a metrics record and a progress line) and opens
    the next one."""

    def __init__(self, trainer: Trainer, plan: Plan, metrics: MetricsLog):
        self.trainer, self.plan, self.metrics = trainer, plan, metrics
        self.last_loss = float("nan")
        self._open()

    def _open(self) -> None:
        self.start, self.steps, self.data_wait = time.perf_counter(), 0, 0.0

    def wait_for(self, take):
        """``take()``'s batches, timed as data wait; counts one step of the window."""
        waited = time.perf_counter()
        taken = take()
        self.data_wait += time.perf_counter() - waited
        self.steps += 1
        return taken

    def close(self, loss: torch.Tensor, lr: float, epoch: float, first) -> None:
        trainer, plan, world = self.trainer, self.plan, self.trainer.placement.world
        self.last_loss = loss.item()
        if not math.isfinite(self.last_loss):
            raise FloatingPointError(f"the loss is {self.last_loss} at step {trainer.step}; lower --lr or check data")
        elapsed = time.perf_counter() - self.start
        rate = self.steps * plan.global_batch / elapsed
        record = {
            "step": trainer.step,
            "epoch": round(epoch, 4),
            "loss": round(self.last_loss, 6),
            "logit_scale": round(trainer.model.logit_scale.exp().item(), 4),
            "lr": lr,
            "samples_per_second": round(rate, 2),
            "samples_per_second_per_device": round(rate / world, 2),
            "data_wait_fraction": round(self.data_wait / elapsed, 4),
            "batch_keys": list(first.keys[:4]),
        }
        self.metrics.record(record)
        eta = (plan.total_steps - trainer.step) * elapsed / self.steps
        self.metrics.say(
            f"[train] step {trainer.step}/{plan.total_steps} ({100 * trainer.step / plan.total_steps:.0f}%)"
            f" epoch {epoch:.2f} loss {self.last_loss:.4f} scale {record['logit_scale']:.2f} lr {lr:.2e} "
            f"{rate:,.1f} samples/s ({rate / world:,.1f}/device) eta {eta:,.0f}s",
            progress=True,
        )
        self._open()


def _save(trainer: Trainer, args: TrainSettings, placement: Placement, epoch: int) -> None:
    """A checkpoint: every rank gives its data position, the main process writes it."""
    state = trainer.checkpoint_state(epoch)
    if placement.is_main:
        path = checkpoints.save_checkpoint(state, args.out, trainer.step, not args.delete_previous_checkpoint)
        log.debug("saved %s", path)
    barrier(placement)


def _evaluate(trainer: Trainer, args: TrainSettings, metrics: MetricsLog) -> None:
    """The held-out evaluation of the trained model: ``eval.json``, a metrics record, a line."""
    from wit_builder.train.evaluate import evaluate, evaluation_line, write_results

    results = evaluate(
        trainer.model,
        trainer.tokenizer,
        args.val_data,
        args.zeroshot_data,
        args.templates,
        args.batch_size,
        trainer.device,
        trainer.precision,
    )
    write_results(results, f"{args.out.rstrip('/')}/eval.json")
    metrics.record({"step": trainer.step, **{f"eval/{k}": v for k, v in results.items() if k != "classes"}})
    print(f"[train] evaluated: {evaluation_line(results)}; every figure in {args.out.rstrip('/')}/eval.json")
