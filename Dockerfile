# roleSync container image: `rolesync` as the entrypoint, run as uid 10001.
#
#   docker build -t rolesync:0.1.0 .        # or: podman build -t rolesync:0.1.0 .
#   docker run --rm rolesync:0.1.0 --version
#
# Two stages: the builder turns the source into a wheel; the final stage gets only that
# wheel (and the `postgres` extra's psycopg from the package index), never the source
# tree, tests or build tools. No secret is an ARG or ENV here: credentials and the state
# URL (ROLESYNC_STATE_URL) are given to the container at run time. See deploy/README.md.
#
# BASE_IMAGE exists so the image can be tested where the official base cannot be pulled
# (deploy/container/make-standin-base.sh); images for use build FROM python:3.11-slim.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder
# A venv of its own: pip works the same on the official image and on a distribution's
# Python (which forbids installing into the system interpreter).
RUN python3 -m venv /opt/build
WORKDIR /src
# The .dockerignore is an allowlist: only what the wheel is built from arrives here.
COPY pyproject.toml README.md ./
COPY src ./src
COPY rules ./rules
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
    && ls /dist/rolesync-*.whl

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="rolesync" \
      org.opencontainers.image.description="Keep CRM account ownership in step with how sellers sell" \
      org.opencontainers.image.licenses="Apache-2.0"
# Bytecode is compiled at install time; the root filesystem may be read-only at run time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/rolesync/bin:$PATH
COPY --from=builder /dist/ /tmp/dist/
# pip and setuptools go once the wheel is in: nothing installs at run time.
RUN python3 -m venv /opt/rolesync \
    && /opt/rolesync/bin/pip install --no-cache-dir "$(ls /tmp/dist/rolesync-*.whl)[postgres]" \
    && /opt/rolesync/bin/pip uninstall --yes --quiet pip setuptools \
    && rm -rf /tmp/dist \
    && groupadd --gid 10001 rolesync \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/rolesync \
        --shell /usr/sbin/nologin rolesync \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/rolesync
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The profile's state_dir (reports, plans, the CRM mirror) goes here; with PostgreSQL
# state it is scratch (an emptyDir), with SQLite state it must be a persistent volume.
WORKDIR /var/lib/rolesync
ENTRYPOINT ["rolesync"]
CMD ["--help"]
