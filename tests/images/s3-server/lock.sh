#!/usr/bin/env bash
# Regenerate requirements.lock of the S3 server image from requirements.in with the pinned resolver of
# tests/images/airflow/lock.sh (uv), for Debian bookworm's CPython 3.11 on x86_64 (glibc 2.36): every package
# pinned with its sha256 hashes, wheels only.
# Usage: tests/images/s3-server/lock.sh [uv pip compile options...]   (e.g. --upgrade)
set -euo pipefail

UV_VERSION=0.13.9
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
uv_venv="${AIRFLOW_K8S_CACHE:-/var/cache/airflow-k8s}/images/tools/uv-$UV_VERSION"
if [[ ! -x "$uv_venv/bin/uv" ]]; then
  echo "lock: installing uv==$UV_VERSION into $uv_venv"
  python3 -m venv "$uv_venv"
  "$uv_venv/bin/pip" install --quiet "uv==$UV_VERSION"
fi
cd "$here"
"$uv_venv/bin/uv" pip compile requirements.in \
  --output-file requirements.lock \
  --generate-hashes \
  --python-version 3.11 \
  --python-platform x86_64-manylinux_2_36 \
  --only-binary :all: \
  --no-emit-index-url \
  --custom-compile-command "tests/images/s3-server/lock.sh" \
  --quiet "$@"
echo "lock: wrote $here/requirements.lock ($(grep -c '^[A-Za-z0-9]' requirements.lock) packages)"
