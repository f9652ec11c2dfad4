"""The training data stream: shard URLs to batches of pixels and token ids, resumable exactly.

Each (rank, data-loader worker) pair is one *stream* of ``world × workers``. A stream reads in
passes:
- without resampling, a pass is one epoch over the data: every stream shuffles the shard list
  with the same seed and takes every n-th shard (or, with fewer shards than streams, every
  n-th sample of all of them);
- with ``--dataset-resampled``, a pass is a draw of shards with replacement.

Samples go through a shuffle buffer (flushed at the end of each pass), then are decoded and
cropped with a per-sample seed, and batched inside the worker: each crop is written straight
into the batch's uint8 array, and the trainer normalises the whole batch on its device
(``transforms.normalise_pixels``), so a worker hands over a quarter of the bytes of float32 and
does a quarter of the arithmetic. Everything is a function of
(seed, stream, pass), so a stream's position is just ``(pass, samples pulled)``; each batch
carries it, the trainer saves the latest per stream, and a resumed run replays the current
pass up to that position without decoding, then continues with exactly the next batch.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from wit_builder.capping.languages import row_keys
from wit_builder.capping.online import EpochDraw, OnlineBalance
from wit_builder.errors import StageFailed, UsageError
from wit_builder.hashing import hash64
from wit_builder.io.shard_urls import resolve_shard_set
from wit_builder.train.shard_reader import IMAGE_KEYS, TEXT_KEYS, ReadTally, iter_shard_samples, pick
from wit_builder.train.transforms import normalise_pixels

log = logging.getLogger("wit_builder.train")
Position = tuple[int, int]  # (pass, samples pulled from the shuffle buffer in that pass)
WARN_FIRST, WARN_EVERY = 10, 1000


@dataclass(frozen=True)
class Batch:
    images: torch.Tensor  # (B, 3, S, S) uint8 RGB crops (a channels-last view); normalise_pixels them
    tokens: torch.Tensor  # (B, context) int64
    keys: tuple[str, ...]
    stream: int  # the logical data-loader worker it came from
    position: Position  # that stream's position after this batch

    def pin_memory(self) -> Batch:
        """Called by ``DataLoader(pin_memory=True)``: page-locked tensors copy to the GPU
        asynchronously (``non_blocking=True``), overlapping the next step's compute."""
        return dataclasses.replace(self, images=self.images.pin_memory(), tokens=self.tokens.pin_memory())

    def pixels(self, device: torch.device | str | None = None) -> torch.Tensor:
        """The normalised float32 images on ``device`` (normalised there, after the copy)."""
        images = self.images if device is None else self.images.to(device, non_blocking=True)
        return normalise_pixels(images)


@dataclass(frozen=True)
class StreamSpec:
    """What every stream of a run shares."""

    urls: tuple[str, ...]
    batch_size: int
    image_size: int
    seed: int = 0
    resampled: bool = False
    shuffle_buffer: int = 1000
    rank: int = 0
    world: int = 1
    balance: OnlineBalance | None = None  # online balancing's draw (``capping.online``), made each pass
    first_epoch: int = 0  # the epoch of pass 0: passes after an elastic resume draw fresh epochs
    captions: bool = True  # a KEY.json's ``captions`` (harvest --max-captions): one drawn per epoch


def resolve_urls(spec: str) -> tuple[str, ...]:
    """The shard URLs of ``--train-data``/``--val-data``: a URL list, or a shard stage's folder."""
    return tuple(resolve_shard_set(spec)[0])


def _pass_shards(spec: StreamSpec, stream: int, streams: int, pass_index: int) -> tuple[list[str], int, int]:
    """This pass's shards for one stream, and the sample split ``(keep every n-th, offset)``."""
    if spec.resampled:
        rng = random.Random(f"{spec.seed}:resample:{stream}:{pass_index}")
        draws = max(1, len(spec.urls) // streams)
        return [rng.choice(spec.urls) for _ in range(draws)], 1, 0
    order = list(spec.urls)
    random.Random(f"{spec.seed}:shards:{pass_index}").shuffle(order)
    if len(order) >= streams:
        return order[stream::streams], 1, 0
    return order, streams, stream  # fewer shards than streams: split by sample instead


def _raw_samples(
    shards: list[str],
    every: int,
    offset: int,
    tally: ReadTally,
    draw: EpochDraw | None = None,
    caption_draw: tuple[int, int] | None = None,
) -> Iterator[tuple[str, bytes, str]]:
    """``(key, image bytes, caption)`` of the complete samples, in shard order; with ``draw``,
    only those online balancing keeps this epoch (decided after the split between streams, so
    the samples kept do not depend on how many streams there are). With ``caption_draw``
    (seed, epoch), a sample whose KEY.json lists several ``captions`` gives one of them, drawn
    by (seed, epoch, uid); otherwise its KEY.txt."""
    index = 0
    for url in shards:
        for key, members in iter_shard_samples(url, tally):
            tally.members_seen.update(members)
            image = pick(members, IMAGE_KEYS)
            text = pick(members, TEXT_KEYS)
            if image is None or text is None:
                tally.incomplete += 1
                continue
            index += 1
            if (index - 1) % every != offset:
                continue
            several = caption_draw is not None and b'"captions"' in members.get("json", b"")
            document = _document(members) if draw is not None or several else None
            if draw is not None and not _drawn(draw, document, tally):
                tally.balanced_out += 1
                continue
            tally.samples += 1
            caption = _epoch_caption(document, caption_draw) if several else None
            yield key, image[1], caption if caption is not None else text[1].decode("utf-8", "replace")


def _document(members: dict[str, bytes]) -> dict | None:
    try:
        document = json.loads(members["json"])
    except (KeyError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _drawn(draw: EpochDraw, document: dict | None, tally: ReadTally) -> bool:
    """Whether this epoch's draw keeps the sample, by its KEY.json (uid, matches, lang); a
    sample without a readable one cannot be drawn and is kept (counted as ``undrawn``)."""
    try:
        if document is not None:
            return draw.keeps(document["uid"], row_keys(document["matches"], document.get("lang")))
    except (KeyError, TypeError, ValueError):
        pass
    tally.undrawn += 1
    return True


def _epoch_caption(document: dict | None, caption_draw: tuple[int, int]) -> str | None:
    """One of KEY.json's ``captions``, the same for a sample all epoch on every rank and worker:
    drawn by (seed, epoch, uid). None (KEY.txt, then) when it lists fewer than two, or is unreadable."""
    captions = document.get("captions") if document else None
    if not isinstance(captions, list) or len(captions) < 2 or not all(isinstance(c, str) for c in captions):
        return None
    seed, epoch = caption_draw
    return captions[hash64(f"caption\x1f{seed}\x1f{epoch}\x1f{document['uid']}") % len(captions)]


def _shuffled(samples: Iterator, size: int, rng: random.Random) -> Iterator:
    """A shuffle buffer of ``size``; drained in random order at the end. A size of 0 or 1
    shuffles nothing: the samples pass in shard order."""
    if size <= 1:
        yield from samples
        return
    buffer: list = []
    for sample in samples:
        if len(buffer) < size:
            buffer.append(sample)
            continue
        index = rng.randrange(size)
        buffer[index], sample = sample, buffer[index]
        yield sample
    rng.shuffle(buffer)
    yield from buffer


class TrainStream(IterableDataset):
    """An endless stream of ``Batch``es for one rank; ``len(streams)`` = data-loader workers."""

    def __init__(
        self,
        spec: StreamSpec,
        encode: Callable[[list[str]], object],
        crop: Callable[[Image.Image, int, random.Random], torch.Tensor],
        workers: int,
        start: dict[int, Position] | None = None,
        rotate: int = 0,
    ):
        self.spec = spec
        self.encode = encode
        self.crop = crop
        self.workers = max(1, workers)
        self.start = dict(start or {})
        self.rotate = rotate

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        physical = info.id if info is not None else 0
        logical = (physical + self.rotate) % self.workers
        yield from self.stream(logical)

    def stream(self, logical: int) -> Iterator[Batch]:
        spec = self.spec
        streams = spec.world * self.workers
        stream_id = spec.rank * self.workers + logical
        start_pass, skip = self.start.get(logical, (0, 0))
        pass_index = start_pass
        size = spec.image_size
        pixels = torch.empty((spec.batch_size, size, size, 3), dtype=torch.uint8)
        filled = 0
        texts: list[str] = []
        keys: list[str] = []
        corrupt = 0
        while True:
            tally = ReadTally()
            shards, every, offset = _pass_shards(spec, stream_id, streams, pass_index)
            rng = random.Random(f"{spec.seed}:buffer:{stream_id}:{pass_index}")
            epoch = spec.first_epoch + pass_index
            draw = spec.balance.epoch(epoch) if spec.balance is not None else None
            captions = (spec.seed, epoch) if spec.captions else None
            pulled = decoded = 0
            for key, image_bytes, text in _shuffled(
                _raw_samples(shards, every, offset, tally, draw, captions), spec.shuffle_buffer, rng
            ):
                pulled += 1
                if pass_index == start_pass and pulled <= skip:
                    continue  # replaying up to the saved position: no decoding
                try:
                    with Image.open(io.BytesIO(image_bytes)) as picture:
                        crop = self.crop(picture, size, random.Random(f"{spec.seed}:{pass_index}:{key}"))
                    pixels[filled].copy_(crop.permute(1, 2, 0))  # (3, S, S) uint8 into its slot
                except Exception as error:
                    corrupt += 1
                    if corrupt <= WARN_FIRST or corrupt % WARN_EVERY == 0:
                        log.warning("stream %d: skipping sample %s (%d so far): %s", stream_id, key, corrupt, error)
                    continue
                decoded += 1
                filled += 1
                texts.append(text)
                keys.append(key)
                if filled == spec.batch_size:
                    tokens = torch.as_tensor(self.encode(texts))
                    images = pixels.permute(0, 3, 1, 2)  # no copy: channels last
                    yield Batch(images, tokens, tuple(keys), logical, (pass_index, pulled))
                    pixels = torch.empty_like(pixels)  # the batch just sent keeps its own tensor
                    filled, texts, keys = 0, [], []
            if tally.samples == 0 and not tally.balanced_out:
                raise StageFailed(_no_samples_message(shards, tally))
            replayed = skip if pass_index == start_pass else 0
            if decoded == 0 and pulled > replayed:
                raise StageFailed(
                    f"none of the {pulled - replayed} images read in {len(shards)} shard(s) such as "
                    f"{shards[0]} could be decoded"
                )
            if spec.balance is not None:  # what this epoch's draw kept of this stream's share of the pool
                log.info(
                    "stream %d, epoch %d: online balancing kept %d of %d samples (%d without a readable "
                    "KEY.json, kept)",
                    stream_id, spec.first_epoch + pass_index, tally.samples, tally.samples + tally.balanced_out,
                    tally.undrawn,
                )  # fmt: skip
            pass_index += 1


def _no_samples_message(shards: list[str], tally: ReadTally) -> str:
    seen = ", ".join(sorted(tally.members_seen)) or "none"
    return (
        f"no sample with an image ({'/'.join(IMAGE_KEYS)}) and a caption ({'/'.join(TEXT_KEYS)}) in "
        f"{len(shards)} shard(s) such as {shards[0]} ({tally.damaged_shards} unreadable; member types seen: {seen})"
    )


def eval_samples(urls: tuple[str, ...], label_keys: tuple[str, ...] = TEXT_KEYS) -> Iterator[tuple[str, bytes, str]]:
    """Every complete sample of ``urls`` once, in order: ``(key, image bytes, label text)``
    where the label is the caption (``txt``) or, for classification shards, ``cls``."""
    tally = ReadTally()
    for url in urls:
        for key, members in iter_shard_samples(url, tally):
            image = pick(members, IMAGE_KEYS)
            label = pick(members, label_keys)
            if image is None or label is None:
                tally.incomplete += 1
                continue
            yield key, image[1], label[1].decode("utf-8", "replace").strip()
    if tally.incomplete:
        log.warning("%d incomplete sample(s) skipped in %d shard(s)", tally.incomplete, len(urls))


def count_samples(urls: tuple[str, ...]) -> int | None:
    """Samples in ``urls`` from the ``sizes.json`` (open_clip's layout) or our ``manifest.json``
    beside them; None when some shard is in neither."""
    from wit_builder.io.json_files import read_json

    sizes: dict[str, int] = {}
    for folder in dict.fromkeys(url.rsplit("/", 1)[0] for url in urls):
        for name, read in (("sizes.json", lambda d: d), ("manifest.json", _manifest_sizes)):
            try:  # a file of the wrong shape counts as none: the shards are counted by reading them
                found = read(read_json(f"{folder}/{name}", name.removesuffix(".json")))
            except (OSError, ValueError) as error:
                if not isinstance(error, FileNotFoundError):
                    log.warning("not counting samples from %s/%s: %s", folder, name, error)
                continue
            sizes.update({f"{folder}/{shard}": int(count) for shard, count in found.items()})
            break
    try:
        return sum(sizes[url] for url in urls)
    except KeyError:
        return None


def _manifest_sizes(manifest: dict) -> dict[str, int]:
    return {shard["name"]: shard["samples"] for shard in manifest["shards"]}


def online_balance_of(urls: tuple[str, ...], seed: int) -> tuple[OnlineBalance, float]:
    """Online balancing's draw for ``urls`` (with the run's ``seed``) and the samples an epoch
    of them is expected to keep, from the ``online_balance`` entry of the manifest beside them
    (``shard --pool``)."""
    from wit_builder.io.json_files import read_json

    capped: dict[str, float] = {}
    expected = 0.0
    for folder in dict.fromkeys(url.rsplit("/", 1)[0] for url in urls):
        try:
            manifest = read_json(f"{folder}/manifest.json", "manifest")
        except (OSError, ValueError) as error:
            raise UsageError(f"--online-balance reads the manifest beside the shards: {error}") from None
        entry = manifest.get("online_balance")
        if not isinstance(entry, dict):
            raise UsageError(
                f"--online-balance: {folder} is not a pool (its manifest has no online_balance); write it with "
                "wit-builder shard --pool --per-query T"
            )
        for key, _, p in entry["capped"]:
            if capped.setdefault(key, float(p)) != float(p):
                raise UsageError(f"--online-balance: the pools disagree on query {key!r}'s keep probability")
        per_shard = entry["expected_per_shard"]
        mine = [url.rsplit("/", 1)[1] for url in urls if url.rsplit("/", 1)[0] == folder]
        expected += sum(float(per_shard.get(name, 0.0)) for name in mine)
    return OnlineBalance(capped, seed), expected
