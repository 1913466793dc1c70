# shellcheck shell=bash
# Shared helpers for the cluster scripts. Source it; do not run it.

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${CLUSTER_DIR}/.." && pwd)"
export CLUSTER_DIR REPO_ROOT

# shellcheck source=cluster/versions.env
. "${CLUSTER_DIR}/versions.env"

AIRFLOW_K8S_CACHE="${AIRFLOW_K8S_CACHE:-/var/cache/airflow-k8s}"
AIRFLOW_K8S_KUBECONFIG="${AIRFLOW_K8S_KUBECONFIG:-${REPO_ROOT}/.work/kubeconfig}"
AIRFLOW_K8S_CLUSTER="${AIRFLOW_K8S_CLUSTER:-airflow-k8s}"
export AIRFLOW_K8S_CACHE AIRFLOW_K8S_KUBECONFIG AIRFLOW_K8S_CLUSTER

# Where our own Go-built tools land (kind, crictl, ...), keyed by version below.
BIN_CACHE="${AIRFLOW_K8S_CACHE}/bin"

# Go toolchain and module settings used by every build.
export PATH="/usr/local/go/bin:${PATH}"
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# apt_install PKG[=VERSION]...: installs only what is missing, without starting services.
apt_install() {
  local missing=() spec name
  for spec in "$@"; do
    name="${spec%%=*}"
    dpkg-query -W -f='${Status}' "${name}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${spec}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if [ ! -f /var/lib/apt/periodic/airflow-k8s-updated ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ]; then
    apt-get update -qq
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/airflow-k8s-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# with_go: makes sure a Go toolchain is on PATH (the machine ships one; Debian's is the fallback).
need_go() {
  if ! command -v go >/dev/null 2>&1; then
    apt_install golang-go
  fi
}

# Stage timing: stage NAME CMD... runs CMD, prints its duration and records it for the table.
STAGE_NAMES=()
STAGE_SECS=()
stage() {
  local name="$1" start end rc=0
  shift
  log "=== stage: ${name}"
  start=$(date +%s)
  "$@" || rc=$?
  end=$(date +%s)
  STAGE_NAMES+=("${name}")
  STAGE_SECS+=("$((end - start))")
  if [ "${rc}" -ne 0 ]; then
    log "=== stage ${name} FAILED after $((end - start)) s (exit ${rc})"
    stage_table
    exit "${rc}"
  fi
  log "=== stage ${name} done in $((end - start)) s"
}

stage_table() {
  local i total=0
  printf '\n%-28s %8s\n' "stage" "seconds" >&2
  printf '%-28s %8s\n' "----------------------------" "-------" >&2
  for i in "${!STAGE_NAMES[@]}"; do
    printf '%-28s %8s\n' "${STAGE_NAMES[$i]}" "${STAGE_SECS[$i]}" >&2
    total=$((total + STAGE_SECS[i]))
  done
  printf '%-28s %8s\n\n' "total" "${total}" >&2
}
