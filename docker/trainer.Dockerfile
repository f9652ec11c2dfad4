# GPU trainer image: the CUDA build of torch (PyPI's torch on Linux is built for CUDA), faiss-gpu,
# gcsfs and s3fs for shards on buckets, TensorBoard for the logs; wit-train runs under torchrun.
#   docker build -f docker/trainer.Dockerfile -t REGISTRY/wit/trainer:latest .
#   docker run --gpus all --ipc=host REGISTRY/wit/trainer:latest \
#     --standalone --nproc_per_node=8 -m wit_builder.train train --train-data 'gs://B/shard/{000000..004095}.tar' ...
# (--ipc=host: data-loader workers pass batches through shared memory.)
FROM python:3.11-slim

ENV NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/wit-builder
# A C compiler for the harvest matcher's extension, which the package builds on install; the
# base image's Debian release decides its version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN pip install torch==2.13.0
COPY pyproject.toml setup.py README.md ./
COPY wit_builder ./wit_builder
COPY schemas ./schemas
# The project itself, from this checkout (dependency ranges in pyproject.toml).
# hadolint ignore=DL3013
RUN pip install ".[train,gpu,gcp,aws]" tensorboard==2.21.0
ENTRYPOINT ["torchrun"]
CMD ["--help"]
