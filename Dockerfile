# syntax=docker/dockerfile:1
# Build stage: compile wheels for the project and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY matching ./matching
COPY api ./api
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: only the wheels, the seeds and a non-root user.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHAINMATCH_DATA_DIR=/var/lib/chainmatch \
    CHAINMATCH_SEEDS_DIR=/opt/chainmatch/seeds \
    NUMBA_CACHE_DIR=/var/lib/chainmatch/.numba-cache
RUN groupadd --system chainmatch && useradd --system --gid chainmatch --home /var/lib/chainmatch chainmatch \
    && mkdir -p /var/lib/chainmatch /opt/chainmatch && chown chainmatch:chainmatch /var/lib/chainmatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY seeds /opt/chainmatch/seeds
USER chainmatch
WORKDIR /var/lib/chainmatch
EXPOSE 8000
# Liveness only: /healthz answers within about a second of process start (the store, graph and index load in
# the background); the start period covers a slow host. Route traffic on /readyz (503 until the store is
# migrated and the index is built and within CHAINMATCH_READY_MAX_LAG changes of the store).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# Keys must be configured (CHAINMATCH_API_KEYS): on a non-loopback address the server refuses to start without.
CMD ["chainmatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
