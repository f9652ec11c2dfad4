# GPU trainer image: CUDA build of torch (PyPI's default torch on Linux), wit-train under torchrun.
#   docker build -f docker/trainer.Dockerfile -t REGISTRY/wit/trainer:latest .
#   docker run --gpus all REGISTRY/wit/trainer:latest torchrun --nproc_per_node=8 -m wit_builder.train.cli ...
FROM python:3.11-slim

ENV NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1
WORKDIR /opt/wit-builder
RUN pip install --no-cache-dir torch==2.13.0
COPY pyproject.toml setup.py README.md ./
COPY wit_builder ./wit_builder
COPY schemas ./schemas
RUN pip install --no-cache-dir ".[train,gpu,gcp,aws]"
ENTRYPOINT []
