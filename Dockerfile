# Multi-stage build: compile in the Rust image, run from a small Debian base as a
# non-root user. The config (and its secrets) lives in a volume.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
COPY tests ./tests
RUN cargo build --release --locked --bin llm-gateway

FROM debian:bookworm-slim
RUN useradd --create-home --uid 10001 gateway \
    && mkdir -p /home/gateway/.llm-gateway \
    && chown gateway:gateway /home/gateway/.llm-gateway \
    && chmod 700 /home/gateway/.llm-gateway
COPY --from=build /src/target/release/llm-gateway /usr/local/bin/llm-gateway
USER gateway
ENV HOME=/home/gateway
VOLUME ["/home/gateway/.llm-gateway"]
EXPOSE 3847
# `health` asks the running server (found through ~/.llm-gateway/server.json) whether
# it is up and every enabled upstream answers; it exits non-zero otherwise.
HEALTHCHECK --interval=30s --timeout=15s --start-period=5s --retries=3 \
    CMD ["llm-gateway", "health"]
# Inside a container the gateway must listen beyond loopback to be reachable.
CMD ["llm-gateway", "server", "start", "--host", "0.0.0.0"]
