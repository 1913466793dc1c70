#!/usr/bin/env bash
# Regenerate the hashed locks of the Airflow images from requirements.in and the Airflow versions of
# tests/images/versions.env, with a pinned resolver (uv), for Debian bookworm's CPython 3.11 on x86_64
# (glibc 2.36), every package pinned with hashes. Wheels only (--only-binary :all:), so the images need
# no compiler.
#   current   apache-airflow==$AIRFLOW_VERSION           -> requirements.lock           (build.sh airflow)
#   previous  apache-airflow==$AIRFLOW_PREVIOUS_VERSION  -> requirements-previous.lock  (build.sh airflow-previous)
# uv keeps the versions an existing lock already pins unless they no longer fit: pass --upgrade (or
# --upgrade-package NAME) to move to the newest allowed versions.
#
# Usage: tests/images/airflow/lock.sh [current|previous|all] [uv pip compile options...]   (default: all)
#        UV_EXCLUDE_NEWER=2026-11-01 tests/images/airflow/lock.sh previous --upgrade   # as of a date
set -euo pipefail

UV_VERSION=0.13.9
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${AIRFLOW_K8S_CACHE:-/var/cache/airflow-k8s}/images"
uv_venv="$cache/tools/uv-$UV_VERSION"
# shellcheck source=../versions.env
source "$here/../versions.env"

target="${1:-all}"
[[ $# -eq 0 ]] || shift
case "$target" in
  current | previous | all) ;;
  *) echo "usage: $0 [current|previous|all] [uv pip compile options...]" >&2; exit 2 ;;
esac

if [[ ! -x "$uv_venv/bin/uv" ]]; then
  echo "lock: installing uv==$UV_VERSION into $uv_venv"
  python3 -m venv "$uv_venv"
  "$uv_venv/bin/pip" install --quiet "uv==$UV_VERSION"
fi

# lock NAME VERSION OUTPUT [uv options...]: apache-airflow==VERSION (stdin) + requirements.in -> OUTPUT.
lock() {
  local name="$1" version="$2" out="$3"
  shift 3
  printf 'apache-airflow==%s\n' "$version" |
    "$uv_venv/bin/uv" pip compile requirements.in - \
      --output-file "$out" \
      --generate-hashes \
      --python-version 3.11 \
      --python-platform x86_64-manylinux_2_36 \
      --only-binary :all: \
      --no-emit-index-url \
      --custom-compile-command "tests/images/airflow/lock.sh $name" \
      --quiet "$@"
  echo "lock: wrote $here/$out (apache-airflow $version, $(grep -c '^[A-Za-z0-9]' "$out") packages)"
}

cd "$here"
if [[ "$target" != previous ]]; then lock current "$AIRFLOW_VERSION" requirements.lock "$@"; fi
if [[ "$target" != current ]]; then lock previous "$AIRFLOW_PREVIOUS_VERSION" requirements-previous.lock "$@"; fi
