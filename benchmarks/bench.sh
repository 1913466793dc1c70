#!/usr/bin/env bash
# make bench: benchmarks/run.py against the kind cluster (KUBECONFIG from scripts/env.sh), with its own
# pinned venv (.work/bench-venv, from benchmarks/requirements.txt). Arguments go to run.py:
#   benchmarks/bench.sh                 full run -> docs/benchmarks/<date>.json and .png
#   benchmarks/bench.sh --smoke         one iteration of each measurement (CI) -> .work/bench/smoke.json
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/cluster/lib.sh"
cd "${REPO_ROOT}"
. scripts/env.sh

venv=.work/bench-venv
stamp="${venv}/.installed-$(sha256sum benchmarks/requirements.txt | cut -c1-12)"
if [ ! -f "${stamp}" ]; then
  rm -rf "${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --disable-pip-version-check -r benchmarks/requirements.txt
  touch "${stamp}"
fi
exec "${venv}/bin/python" benchmarks/run.py "$@"
