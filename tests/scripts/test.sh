#!/usr/bin/env bash
# make test: everything CI runs. Static checks first (no cluster), then the kind cluster (built from package
# registries when no container registry is reachable, cached by version), the cluster smoke tests and the
# Molecule scenarios. The cluster is removed at the end unless AIRFLOW_K8S_KEEP_CLUSTER=1.
# It is make test's own cluster (airflow-k8s-test, .work/test-kubeconfig, node port 30080 on localhost:18080):
# make up's cluster (airflow-k8s, .work/kubeconfig, localhost:8080) and what runs in it are never touched.
set -euo pipefail
. "$(cd "$(dirname "$0")/../kind" && pwd)/lib.sh"
cd "${REPO_ROOT}"
use_test_cluster

cleanup() {
  local rc=$?
  stage_kill_background
  if [ "${AIRFLOW_K8S_KEEP_CLUSTER:-0}" != 1 ]; then
    tests/kind/down.sh || true
  fi
  stage_table
  exit "${rc}"
}
trap cleanup EXIT

# The Molecule scenarios (AIRFLOW_K8S_SCENARIOS chooses them, in order). extensions/molecule/day2 upgrades from the
# previous Airflow release (its image is built and loaded only when the list names it) and spends most of its 40-45
# minutes waiting on long tasks, rollouts and Jobs: it runs in the background, in its own namespace, from the moment
# the cluster is ready (while the static checks and the other scenarios run), and the run waits for it before the
# benchmark smoke test, which needs a quiet machine. Clean clones ran the whole list this way in 69 min
# and about 77 min on the 2-core VM (2026-12-06, images cached; day2 2665 and 3036 s of them).
scenarios="${AIRFLOW_K8S_SCENARIOS:-default external_db nfs portworx gitsync day2}"
background_scenario=""
case " ${scenarios} " in
  *" day2 "*) background_scenario=day2 ;;
esac

# The Docker engine, the images (cached by version) and the test cluster: mostly waiting on I/O, so they come up in the
# background while the static checks use the CPUs (a failing static check stops them).
# (set -e does not apply inside a function run as `f || rc=$?`: every step returns on failure itself.)
cluster_up() {
  tests/kind/docker.sh || return
  tests/images/build.sh all || return
  case " ${scenarios} " in
    *" day2 "*) tests/images/build.sh airflow-previous || return ;;
  esac
  . tests/scripts/env.sh || return
  tests/kind/up.sh "${AIRFLOW_IMAGE}" "${POSTGRES_IMAGE}" "${GIT_SYNC_IMAGE:-}" "${GIT_SERVER_IMAGE:-}" \
    "${AIRFLOW_PREVIOUS_IMAGE:-}" "${STATSD_EXPORTER_IMAGE:-}"
}

# A scenario in the background starts once the cluster stage has ended well (it sources the images' environment itself).
background_molecule() {
  stage_after cluster || return
  . tests/scripts/env.sh || return
  fresh_molecule_test "$1"
}

# The cluster smoke tests (tests/cluster: mostly waiting on pods, DNS, a claim) run as soon as the cluster is ready,
# beside the static checks; the run ends before the scenarios when they failed.
background_cluster_smoke() {
  stage_after cluster || return
  . tests/scripts/env.sh || return
  pytest -q tests/cluster
}

# A scenario from scratch: a run stopped halfway (a failed stage ends make test while a background scenario runs)
# leaves Molecule's state of the scenario behind (created, prepared, and its copy of the old cluster's kubeconfig),
# and the next run would skip create and prepare against a cluster that no longer exists.
fresh_molecule_test() {
  molecule reset -s "$1" && molecule test -s "$1"
}

stage python-tooling make -s venv
stage_background cluster cluster_up
stage_background cluster-smoke background_cluster_smoke
if [ -n "${background_scenario}" ]; then
  stage_background "molecule-${background_scenario}" background_molecule "${background_scenario}"
fi
# The static checks only use CPU and wait for nothing: at the lowest priority they leave the CPUs to the test cluster,
# where a background scenario's pods answer health probes and polls with timeouts. With cgroup v1 the whole kind node
# is one scheduling entity of the root cgroup, weighing as much as one process of nice 0 (a nice 19 process weighs
# 1/68 of that): with the render tests at nice 0 the node got 26 % of the CPUs (5.2 CPU-s in 10 s, 2026-12-06).
stage lint nice -n 19 make -s lint
stage sanity nice -n 19 make -s sanity
stage unit-tests nice -n 19 make -s unit
stage kubernetes-core-contract nice -n 19 make -s contract
stage render-tests nice -n 19 make -s render-tests
stage collection-build nice -n 19 make -s build
stage package-check nice -n 19 make -s package-check
stage_wait cluster
. tests/scripts/env.sh
stage_wait cluster-smoke
stage browser tests/scripts/install-browser.sh
# Scenarios are independent (own namespace each): a red one is recorded and the others still run.
for scenario in ${scenarios}; do
  [ "${scenario}" != "${background_scenario}" ] || continue
  stage_keep_going "molecule-${scenario}" fresh_molecule_test "${scenario}"
done
if [ -n "${background_scenario}" ]; then
  stage_wait_keep_going "molecule-${background_scenario}"
fi
# The benchmark harness, one iteration of each measurement (not a benchmark: it only keeps the harness working).
stage_keep_going bench-smoke tests/benchmarks/bench.sh --smoke --out .work/bench/smoke.json --png .work/bench/smoke.png
stage_failures
