# syntax=docker/dockerfile:1
# Base images are pinned to a release: Go 1.26.8 (go.mod's version) on Debian
# 12 "bookworm", and the bookworm slim image of 2026-08-24 (same glibc as the
# build stage). Bump both together; go test ./deploy checks the pins.
# Build: docker build -t lander .
# Run:   docker run -p 8080:8080 -v lander-data:/data lander demo
#        docker run -v $PWD/catalog:/catalog -v lander-data:/data lander index --catalog /catalog
#        docker run -p 8080:8080 -v lander-data:/data lander serve

FROM golang:1.26.8-bookworm AS build
# npm fetches the ONNX Runtime library, python3 exports the text encoder.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build VERSION="$(git describe --tags --always 2>/dev/null || echo docker)"

FROM debian:bookworm-20260824-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lander \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin lander \
 && mkdir -p /data && chown 10001:10001 /data
WORKDIR /app
COPY --from=build /src/bin/lander /app/bin/lander
COPY --from=build /src/lib/libonnxruntime.so.1 /app/lib/libonnxruntime.so.1
COPY --from=build /src/models/minilm /app/models/minilm
COPY --from=build /src/encoder/weights /app/encoder/weights
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENV LANDER_DATA=/data \
    ONNXRUNTIME_LIB=/app/lib/libonnxruntime.so.1 \
    LANDER_ENCODER_MODELS=/app/models \
    LANDER_ENCODER_DUAL=/app/encoder/weights
EXPOSE 8080
# No curl or wget in the image: bash's /dev/tcp asks /healthz. Orchestrators
# use their own probes (compose asks /readyz, Kubernetes ignores this).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/app/bin/lander"]
CMD ["serve"]
