#!/bin/sh
# Build a local stand-in for python:3.11-slim on a machine that reaches Debian's package
# mirror but no container registry: a minimal Debian bookworm root (debootstrap minbase)
# with Debian's python3.11, venv and CA certificates, imported as a local image.
#
#   sudo deploy/container/make-standin-base.sh            # -> localhost/rolesync-standin-base:bookworm-py311
#   ROLESYNC_TEST_PYTHON_IMAGE=localhost/rolesync-standin-base:bookworm-py311 pytest tests/test_container_image.py
#
# Needs root, debootstrap and podman (or docker). Only for testing the Dockerfile where the
# real base cannot be pulled: images for production build FROM python:3.11-slim.
set -eu
TAG=${1:-localhost/rolesync-standin-base:bookworm-py311}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
RUNTIME=${CONTAINER_RUNTIME:-$(command -v podman || command -v docker)}
ROOT=$(mktemp -d /var/tmp/rolesync-standin.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$ROOT" "$MIRROR"
# The host's CA bundle, so pip inside builds reaches the package index the way this
# machine does (through its egress proxy, if any). A stand-in only: never a real base.
cp "${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$ROOT/etc/ssl/certs/ca-certificates.crt"
# The official image answers to `python` too; keep the root small like -slim does.
ln -sf /usr/bin/python3 "$ROOT/usr/local/bin/python"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
tar -C "$ROOT" -c . | "$RUNTIME" import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$TAG"
echo "$TAG"
