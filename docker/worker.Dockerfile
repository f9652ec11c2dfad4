# Beam SDK worker image with wit-builder installed, for Dataflow (--sdk_container_image) and
# Spark/Flink (--environment_type=DOCKER --environment_config=IMAGE). Build from the repo root:
#   docker build -f docker/worker.Dockerfile -t REGISTRY/wit/worker:latest .
# Keep the Beam version equal to the one the job is launched with.
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}

ENV NO_ALBUMENTATIONS_UPDATE=1
WORKDIR /opt/wit-builder
COPY pyproject.toml setup.py README.md ./
COPY wit_builder ./wit_builder
COPY schemas ./schemas
# The project itself, from this checkout (its dependencies' ranges are in pyproject.toml; Beam is
# pinned there to this image's version). The harvest matcher's C extension is optional at install
# time; on workers it must be there, so the build fails without it.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[faiss,gcp,aws]" \
    && python -c "import wit_builder.harvest._phrase_table"
