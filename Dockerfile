# The cango-operator image: the operator (`run`) and the node agent (`agent`) in one.
#
#   docker build -t cango-operator:dev .
#
# Stage 1 builds the wheel and installs it with its dependencies into a virtualenv;
# stage 2 copies only that virtualenv onto the same slim Python, runs as UID 65532,
# and starts the console script directly (exec form: nothing needs a shell), so the
# container runs with a read-only root filesystem (Python writes no bytecode; /tmp is
# the one writable path, an emptyDir in the chart).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cango_operator ./cango_operator
RUN python -m pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/cango \
 && /opt/cango/bin/pip install --no-index --find-links /wheels cango-operator \
 && /opt/cango/bin/pip uninstall --yes pip setuptools \
 && /opt/cango/bin/cango-operator --version

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
# 8080 kopf liveness, 9090 operator metrics, 9400 agent metrics.
EXPOSE 8080 9090 9400
ENTRYPOINT ["/opt/cango/bin/cango-operator"]
CMD ["--help"]
