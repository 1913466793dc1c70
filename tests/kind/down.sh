#!/bin/bash
# Deletes the kind cluster ${AIRFLOW_K8S_CLUSTER:-airflow-k8s} (idempotent: no cluster, nothing to do), and
# only that one: make test's cluster (tests/scripts/test.sh) and make up's have different names.
#   tests/kind/down.sh         make up's cluster (or ${AIRFLOW_K8S_CLUSTER})
#   tests/kind/down.sh test    make test's cluster (airflow-k8s-test, see use_test_cluster in lib.sh)
#   tests/kind/down.sh multi   make test's multi-node cluster (airflow-k8s-multi, see use_multinode_cluster)
# Cached binaries and images stay; see tests/kind/README.md to drop them.
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in
  "") ;;
  test) use_test_cluster ;;
  multi) use_multinode_cluster ;;
  *) die "usage: tests/kind/down.sh [test|multi]" ;;
esac

if ! docker info >/dev/null 2>&1; then
  log "docker is not running: no cluster to delete"
  exit 0
fi
KIND="${BIN_CACHE}/kind-${KIND_VERSION}/kind"
if [ -x "${KIND}" ]; then
  if "${KIND}" get clusters 2>/dev/null | grep -qx "${AIRFLOW_K8S_CLUSTER}"; then
    "${KIND}" delete cluster --name "${AIRFLOW_K8S_CLUSTER}" --kubeconfig "${AIRFLOW_K8S_KUBECONFIG}"
  else
    log "no cluster ${AIRFLOW_K8S_CLUSTER}"
  fi
else
  # kind not built on this machine: remove the node containers by kind's label.
  ids="$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=${AIRFLOW_K8S_CLUSTER}")"
  if [ -n "${ids}" ]; then
    # shellcheck disable=SC2086
    docker rm -f -v ${ids} >/dev/null
    log "removed node containers of ${AIRFLOW_K8S_CLUSTER}"
  else
    log "no cluster ${AIRFLOW_K8S_CLUSTER}"
  fi
fi
rm -f "${AIRFLOW_K8S_KUBECONFIG}" "${REPO_ROOT}/.work/kind-config-${AIRFLOW_K8S_CLUSTER}.yaml"
