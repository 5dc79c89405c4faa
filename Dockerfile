# syntax=docker/dockerfile:1.7
# The runner image: `python -m automation <command> --stack <name>` on the project itself.
#
#   docker build -t <registry>/coder-platform-runner:<version> .
#
# Stage 1 builds the pinned Pulumi CLI, Python language host and kubernetes provider with
# scripts/install-toolchain (Go module proxy only) and adds the other providers the program pins
# in requirements.txt. Stage 2 builds the program's and the policy pack's virtualenvs. The final
# image has no compiler, runs as a non-root user (uid 10001, as the CronJob's securityContext
# expects) and works on a read-only root filesystem: PULUMI_HOME, reports and /tmp are writable
# volumes the CronJob mounts. Pin images by digest in your registry mirror for reproducibility.

ARG GO_IMAGE=golang:1.26.0-bookworm
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${GO_IMAGE} AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY tools/ tools/
COPY scripts/install-toolchain scripts/install-toolchain
COPY scripts/toolchain/ scripts/toolchain/
COPY requirements.txt requirements.txt
ENV CODER_PLATFORM_TOOLCHAIN_CACHE=/toolchain
RUN scripts/install-toolchain
# Only what the runner needs from the toolchain (not etcd or kube-apiserver), flattened onto one
# directory that is on PATH: the engine picks plugins up from PATH, so PULUMI_HOME can be an
# empty, writable volume at run time. The dynamic providers' and the policy packs' plugin
# scripts, not the legacy Python language host: on PATH, the engine hands the policy pack to it
# and the pack fails to start (install-toolchain --help); the runner's program is inline.
RUN eval "$(scripts/install-toolchain --print-env --no-python-host)" \
 && mkdir -p /opt/pulumi/bin \
 && for tool in pulumi pulumi-resource-kubernetes pulumi-resource-pulumi-python \
        pulumi-analyzer-policy-python; do \
      cp "$(command -v "$tool")" /opt/pulumi/bin/ || exit 1; \
    done \
 && for pin in $(grep -E '^pulumi-[a-z-]+==' requirements.txt \
        | grep -vE '^pulumi-(kubernetes|policy)=='); do \
      name=${pin%%==*}; name=${name#pulumi-}; version=${pin##*==}; \
      PULUMI_HOME=/plugins pulumi plugin install resource "$name" "$version" || exit 1; \
    done \
 && find /plugins/plugins -type f -name 'pulumi-resource-*' -perm -u+x \
      -exec cp {} /opt/pulumi/bin/ \; \
 && /opt/pulumi/bin/pulumi version

FROM ${PYTHON_IMAGE} AS venvs
WORKDIR /app
COPY requirements.txt requirements.txt
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
COPY policy/requirements.txt policy/requirements.txt
RUN python -m venv policy/.venv \
 && policy/.venv/bin/pip install --no-cache-dir --disable-pip-version-check \
      -r policy/requirements.txt

FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 runner \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin runner
WORKDIR /app
COPY --from=toolchain /opt/pulumi/bin/ /opt/pulumi/bin/
COPY --from=venvs /app/.venv/ /app/.venv/
COPY --from=venvs /app/policy/.venv/ /app/policy/.venv/
# The project itself (see .dockerignore), owned by root and read-only for the runner.
COPY . /app/
ENV PATH=/app/.venv/bin:/opt/pulumi/bin:/usr/local/bin:/usr/bin:/bin \
    PULUMI_HOME=/tmp/pulumi-home \
    PULUMI_SKIP_UPDATE_CHECK=true \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
ENTRYPOINT ["python", "-m", "automation"]
CMD ["--help"]
