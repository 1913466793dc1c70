#!/usr/bin/env bash
# make bench: tests/benchmarks/run.py against the kind cluster (KUBECONFIG from tests/scripts/env.sh), with its own
# pinned venv (.work/bench-venv, from tests/benchmarks/requirements.txt). Arguments go to run.py:
#   tests/benchmarks/bench.sh                 full run -> docs/benchmarks/<date>.json and .png
#   tests/benchmarks/bench.sh --smoke         one iteration of each measurement (CI) -> .work/bench/smoke.json
set -euo pipefail
. "$(cd "$(dirname "$0")/../kind" && pwd)/lib.sh"
cd "${REPO_ROOT}"
. tests/scripts/env.sh

venv=.work/bench-venv
stamp="${venv}/.installed-$(sha256sum tests/benchmarks/requirements.txt | cut -c1-12)"
if [ ! -f "${stamp}" ]; then
  rm -rf "${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --disable-pip-version-check -r tests/benchmarks/requirements.txt
  touch "${stamp}"
fi
exec "${venv}/bin/python" tests/benchmarks/run.py "$@"
