#!/usr/bin/env bash
# make test: everything CI runs. The static checks (no cluster) in the foreground while the kind cluster comes up in
# the background (built from package registries when no container registry is reachable, cached by version), then
# the cluster smoke tests and the Molecule scenarios in two lanes (below). The cluster is removed at the end unless
# AIRFLOW_K8S_KEEP_CLUSTER=1.
# It is make test's own cluster (airflow-k8s-test, .work/test-kubeconfig, node port 30080 on localhost:18080):
# make up's cluster (airflow-k8s, .work/kubeconfig, localhost:8080) and what runs in it are never touched.
set -euo pipefail
. "$(cd "$(dirname "$0")/../kind" && pwd)/lib.sh"
cd "${REPO_ROOT}"
use_test_cluster

# The table first (CI keeps the end of the output; a run it stops at 90 min prints nothing more), then the cluster goes.
cleanup() {
  local rc=$?
  stage_kill_background
  stage_report_background
  stage_failure_digest
  stage_table
  if [ "${AIRFLOW_K8S_KEEP_CLUSTER:-0}" != 1 ]; then
    tests/kind/down.sh || true
    tests/kind/down.sh multi || true
  fi
  stage_first_failures
  ! stage_deadline_passed || [ "${rc}" -ne 0 ] || rc=1
  exit "${rc}"
}
trap cleanup EXIT
STAGE_TABLE_AT_EXIT=1
# CI stops a run at 90 minutes; this one stops itself before (the stages still running are reported as stopped).
stage_deadline "${AIRFLOW_K8S_TEST_DEADLINE:-5100}"

# The Molecule scenarios (AIRFLOW_K8S_SCENARIOS chooses them), each in its own namespace, in two lanes:
# - the background lane (AIRFLOW_K8S_BACKGROUND_SCENARIOS of the list, in that order, one after the other) starts
#   the moment the cluster is ready, beside the static checks: day2 (upgrade from the previous Airflow release, whose
#   image is built and loaded only when the list names day2; mostly waiting on long tasks, rollouts and Jobs), then
#   gitsync, then the benchmark smoke test;
# - the foreground lane runs the others, in the list's order, after the static checks; multinode, last, on a cluster
#   of its own (multinode_molecule below).
# The run ends when both lanes have. Clean clones ran the default list this way in 55 and 59 min on the 2-core VM with
# make up's cluster running beside it (2026-12-06: static checks 25.7 min, then default 860 s, external_db 660 s; day2
# 2040 s, gitsync 360 s, bench-smoke 269 s); README "What make test runs" has the table.
scenarios="${AIRFLOW_K8S_SCENARIOS:-default external_db nfs portworx multinode gitsync day2}"
background_lane="${AIRFLOW_K8S_BACKGROUND_SCENARIOS-day2 gitsync}"
background_scenarios=()
for scenario in ${background_lane}; do
  case " ${scenarios} " in
    *" ${scenario} "*) background_scenarios+=("${scenario}") ;;
  esac
done

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
    "${AIRFLOW_PREVIOUS_IMAGE:-}" "${STATSD_EXPORTER_IMAGE:-}" "${S3_SERVER_IMAGE:-}" || return
  # The pinned Chromium of the browser tests (default and gitsync scenarios; apt, after up.sh's own apt installs)
  tests/scripts/install-browser.sh || return
  # The test node's CPU weight (cgroup v1 cpu.shares, Docker's default 1024): 8 times that of any other container, so
  # that when the CPUs are short the test cluster's pods get them before an idle `make up` cluster on the same machine
  # (restarted with the Docker engine: its node and its Airflow took 0.43 CPU idle here, 2026-12-06). Only make test's
  # own node changes; make up's keeps its weight and whatever CPU the test cluster leaves.
  docker update --cpu-shares "${AIRFLOW_K8S_TEST_CPU_SHARES:-8192}" "${AIRFLOW_K8S_CLUSTER}-control-plane" >/dev/null
}

# background_start [AFTER]: the start of every background stage that needs the cluster: wait until the cluster stage
# has ended well and the background stage AFTER (the lane's previous one) has ended, well or not, then source the
# images' environment.
background_start() {
  stage_after cluster || return
  [ -z "${1:-}" ] || stage_after_end "$1"
  . tests/scripts/env.sh
}

# background_molecule NAME [AFTER]: a scenario of the background lane.
background_molecule() {
  background_start "${2:-}" || return
  fresh_molecule_test "$1"
}

# The cluster smoke tests (tests/cluster: mostly waiting on pods, DNS, a claim) run as soon as the cluster is ready,
# beside the static checks; the run ends before the scenarios when they failed.
background_cluster_smoke() {
  background_start || return
  pytest -q tests/cluster
}

# The benchmark harness, one iteration of each measurement (not a benchmark: it keeps the harness working, and its
# drift check is a test), last in the background lane (after AFTER): never beside day2, whose upgrade's health polls
# must not share the CPUs with a third installation.
background_bench_smoke() {
  background_start "${1:-}" || return
  tests/benchmarks/bench.sh --smoke --out .work/bench/smoke.json --png .work/bench/smoke.png
}

# A scenario from scratch: a run stopped halfway (a failed stage ends make test while a background scenario runs)
# leaves Molecule's state of the scenario behind (created, prepared, and its copy of the old cluster's kubeconfig),
# and the next run would skip create and prepare against a cluster that no longer exists.
fresh_molecule_test() {
  molecule reset -s "$1" && molecule test -s "$1"
}

# A scenario of the foreground lane: its output on the terminal and in .work/test-output/molecule-NAME.log (the
# digest of failures at the end reads it).
foreground_molecule() {
  mkdir -p .work/test-output
  fresh_molecule_test "$1" 2>&1 | tee ".work/test-output/molecule-$1.log"
  return "${PIPESTATUS[0]}"
}

# The multi-node scenario (the drain drill) runs on a cluster of its own (tests/kind/lib.sh use_multinode_cluster:
# one control plane and two workers, made here from the same node image and removed after), last in the foreground
# lane: by then the static checks are over, and its health polls share the CPUs with as little as possible.
multinode_molecule() {
  (
    use_multinode_cluster
    tests/kind/up.sh "${AIRFLOW_IMAGE}" "${POSTGRES_IMAGE}" || exit
    . tests/scripts/env.sh
    rc=0
    fresh_molecule_test multinode || rc=$?
    [ "${AIRFLOW_K8S_KEEP_CLUSTER:-0}" = 1 ] || tests/kind/down.sh multi || true
    exit "${rc}"
  ) 2>&1 | tee .work/test-output/molecule-multinode.log
  return "${PIPESTATUS[0]}"
}

stage python-tooling make -s venv
stage_background cluster cluster_up
stage_background cluster-smoke background_cluster_smoke
previous=""
for scenario in "${background_scenarios[@]}"; do
  stage_background "molecule-${scenario}" background_molecule "${scenario}" "${previous}"
  previous="molecule-${scenario}"
done
stage_background bench-smoke background_bench_smoke "${previous}"
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
# Scenarios are independent (own namespace each): a red one is recorded and the others still run.
for scenario in ${scenarios}; do
  case " ${background_scenarios[*]} " in
    *" ${scenario} "*) continue ;;
  esac
  if [ "${scenario}" = multinode ]; then
    mkdir -p .work/test-output
    stage_keep_going molecule-multinode multinode_molecule
  else
    stage_keep_going "molecule-${scenario}" foreground_molecule "${scenario}"
  fi
done
for scenario in "${background_scenarios[@]}"; do
  stage_wait_keep_going "molecule-${scenario}"
done
stage_wait_keep_going bench-smoke
stage_failures
