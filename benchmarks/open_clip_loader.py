"""The real open_clip training loader, timed: run by ``bench_loader.py --open-clip-python PY``.

It runs in a virtual environment of its own, with open_clip's training extra (open_clip_torch
3.3.0 pins webdataset <= 0.2.86; torchvision for its transforms), apart from the project's:

    python -m venv /tmp/ocvenv
    /tmp/ocvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 open_clip_torch==3.3.0 webdataset==0.2.86 pandas

It builds the loader exactly as ``open_clip_train.main`` does for ``--train-data``: the model's
own train transform (``open_clip.image_transform``: RandomResizedCrop scale (0.9, 1), bicubic,
CLIP's normalisation, through torchvision), open_clip's CLIP tokenizer, and
``open_clip_train.data.get_wds_dataset`` (shard shuffle, split by node and worker,
``tarfile_to_samples_nothrow``, a 5,000-sample shuffle buffer, ``decode("pilrgb")``, batching in
the workers, ``WebLoader``). It prints one JSON line: images/s over ``--batches`` batches after
the first (worker start-up not counted), timed as ``bench_loader.py`` times ours.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-data", required=True)
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batches", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    import open_clip
    from open_clip_train.data import get_wds_dataset

    preprocess = open_clip.image_transform(args.image_size, is_train=True)
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    options = argparse.Namespace(
        train_data=args.train_data,
        train_num_samples=args.samples,
        train_data_upsampling_factors=None,
        dataset_resampled=False,
        seed=0,
        batch_size=args.batch_size,
        workers=args.workers,
        world_size=1,
    )
    data = get_wds_dataset(options, preprocess, is_train=True, epoch=0, tokenizer=tokenizer)
    iterator = iter(data.dataloader)
    next(iterator)
    started = time.monotonic()
    for _ in range(args.batches):
        images, _ = next(iterator)
        assert images.dtype == torch.float32 and images.shape[0] == args.batch_size
    rate = args.batches * args.batch_size / (time.monotonic() - started)
    print(json.dumps({"images_per_second": rate, "open_clip": open_clip.__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
