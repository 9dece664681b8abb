# syntax=docker/dockerfile:1
# Build: docker build -t lander .
# Run:   docker run -p 8080:8080 -v lander-data:/data lander demo
#        docker run -v $PWD/catalog:/catalog -v lander-data:/data lander index --catalog /catalog
#        docker run -p 8080:8080 -v lander-data:/data lander serve

FROM golang:1.26-bookworm AS build
# npm fetches the ONNX Runtime library, python3 exports the text encoder.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build VERSION="$(git describe --tags --always 2>/dev/null || echo docker)"

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin lander \
 && mkdir -p /data && chown lander /data
WORKDIR /app
COPY --from=build /src/bin/lander /app/bin/lander
COPY --from=build /src/lib/libonnxruntime.so.1 /app/lib/libonnxruntime.so.1
COPY --from=build /src/models/minilm /app/models/minilm
COPY --from=build /src/encoder/weights /app/encoder/weights
USER lander
ENV LANDER_DATA=/data \
    ONNXRUNTIME_LIB=/app/lib/libonnxruntime.so.1 \
    LANDER_ENCODER_MODELS=/app/models \
    LANDER_ENCODER_DUAL=/app/encoder/weights
EXPOSE 8080
ENTRYPOINT ["/app/bin/lander"]
CMD ["serve"]
