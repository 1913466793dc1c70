#!/bin/bash
# Brings up the kind cluster "airflow-k8s" for the test suite.
#
#   tests/kind/up.sh [IMAGE...]
#
# IMAGEs (local docker images, e.g. the Airflow and Postgres images) are loaded
# into the cluster's node with `kind load docker-image`; empty arguments are
# skipped, so optional images can be passed as "${VAR:-}".
#
# Offline (no container registry reachable, as on CI) everything is built from
# the package registries and cached (see tests/kind/README.md); online, kind's
# upstream node image is used. Detection is automatic; AIRFLOW_K8S_OFFLINE=1|0
# forces one or the other. AIRFLOW_K8S_RECREATE=1 recreates a running cluster.
#
# The cluster is ${AIRFLOW_K8S_CLUSTER:-airflow-k8s}; its node's port 30080 (the api-server's NodePort in
# inventories/local) is published on ${AIRFLOW_K8S_LISTEN_ADDRESS:-127.0.0.1}:${AIRFLOW_K8S_HOST_PORT:-8080}.
# kind cannot add a port mapping to a running cluster, so a running cluster with another mapping (or none:
# made before the mapping existed) is recreated.
#
# AIRFLOW_K8S_WORKERS=N (default 0) adds N worker nodes, each mounting the host folder AIRFLOW_K8S_SHARED_DIR (as
# the control plane does) at /var/local/airflow-k8s-shared; a running cluster with another node count is recreated.
#
# Writes the kubeconfig to ${AIRFLOW_K8S_KUBECONFIG:-<repo>/.work/kubeconfig}.
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_CONTAINER="${AIRFLOW_K8S_CLUSTER}-control-plane"
KIND=""
NODE_IMAGE=""

# kc ARGS...: kubectl inside the node, as cluster admin (no host kubectl needed).
kc() { docker exec -i "${NODE_CONTAINER}" kubectl --kubeconfig=/etc/kubernetes/admin.conf "$@"; }

detect_offline() {
  case "${AIRFLOW_K8S_OFFLINE:-}" in
    1 | true | yes) OFFLINE=1; log "offline mode (AIRFLOW_K8S_OFFLINE=${AIRFLOW_K8S_OFFLINE})"; return ;;
    0 | false | no) OFFLINE=0; log "online mode (AIRFLOW_K8S_OFFLINE=${AIRFLOW_K8S_OFFLINE})"; return ;;
  esac
  local code
  code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "${REGISTRY_PROBE_URL}" 2>/dev/null || true)"
  if [ -n "${code}" ] && [ "${code}" != "000" ]; then
    OFFLINE=0
    log "container registry reachable (${REGISTRY_PROBE_URL} answered ${code}): online mode, upstream node image"
  else
    OFFLINE=1
    log "no container registry reachable (${REGISTRY_PROBE_URL}): offline mode, building the node image"
  fi
}

stage_kind() {
  bash "${CLUSTER_DIR}/build-components.sh" kind
  KIND="${BIN_CACHE}/kind-${KIND_VERSION}/kind"
  "${KIND}" version
}

stage_node_image() {
  bash "${CLUSTER_DIR}/build-components.sh"
  NODE_IMAGE="$(bash "${CLUSTER_DIR}/build-node-image.sh")"
}

cluster_healthy() {
  docker inspect -f '{{.State.Running}}' "${NODE_CONTAINER}" 2>/dev/null | grep -qx true &&
    [ "$(docker inspect -f '{{.Config.Image}}' "${NODE_CONTAINER}")" = "${NODE_IMAGE}" ] &&
    kc get --raw /readyz >/dev/null 2>&1 &&
    [ "$(kc get nodes --no-headers 2>/dev/null | wc -l)" -eq $((AIRFLOW_K8S_WORKERS + 1)) ]
}

# port_mapping CONTAINER: "<listen address>:<host port>-><node port>" for each host address and port the
# node container publishes its port NODE_PORT (TCP) on, one a line, sorted (empty when none). kind publishes
# the API server's 6443 too, on a random port: that one is not ours to check.
port_mapping() {
  docker inspect -f '{{json .HostConfig.PortBindings}}' "$1" 2>/dev/null |
    jq -r --arg key "$(local_node_port)/tcp" 'to_entries[]? | select(.key == $key) | .key as $k | .value[]?
           | "\(.HostIp):\(.HostPort)->\($k | rtrimstr("/tcp"))"' | sort
}

WANTED_MAPPING=""
# stage_port_check: the mapping this cluster must have; when the cluster does not run yet, the host port
# must be free (else kind would fail halfway with docker's "port is already allocated").
stage_port_check() {
  local node_port
  node_port="$(local_node_port)"
  [[ "${AIRFLOW_K8S_HOST_PORT}" =~ ^[0-9]+$ ]] || die "AIRFLOW_K8S_HOST_PORT=${AIRFLOW_K8S_HOST_PORT} is not a port number"
  WANTED_MAPPING="${AIRFLOW_K8S_LISTEN_ADDRESS}:${AIRFLOW_K8S_HOST_PORT}->${node_port}"
  log "port mapping of ${AIRFLOW_K8S_CLUSTER}: ${WANTED_MAPPING} (host -> node port of inventories/local's api-server)"
}

host_port_free() {
  local owner
  # a container that is not this cluster's node publishes the port (another kind cluster, say)
  owner="$(docker ps --format '{{.Names}} {{.Ports}}' |
    awk -v p=":${AIRFLOW_K8S_HOST_PORT}->" -v self="${NODE_CONTAINER}" '$1 != self && index($0, p) {print $1}')"
  if [ -n "${owner}" ]; then
    die "host port ${AIRFLOW_K8S_HOST_PORT} is published by container(s) ${owner//$'\n'/, }: set AIRFLOW_K8S_HOST_PORT to a free port"
  fi
  # any other program listening there
  if (exec 3<>"/dev/tcp/127.0.0.1/${AIRFLOW_K8S_HOST_PORT}") 2>/dev/null; then
    die "something already listens on port ${AIRFLOW_K8S_HOST_PORT} of this machine ($(ss -ltnpH "sport = :${AIRFLOW_K8S_HOST_PORT}" 2>/dev/null | awk '{print $4 ($6 ? " " $6 : "")}' | head -1)): stop it or set AIRFLOW_K8S_HOST_PORT to a free port"
  fi
}

stage_cluster() {
  if "${KIND}" get clusters 2>/dev/null | grep -qx "${AIRFLOW_K8S_CLUSTER}"; then
    local have
    have="$(port_mapping "${NODE_CONTAINER}")"
    if [ "${have}" != "${WANTED_MAPPING}" ]; then
      # kind has no way to change the port mappings of a running cluster
      log "cluster ${AIRFLOW_K8S_CLUSTER} publishes ${have:-no port} instead of ${WANTED_MAPPING}; kind cannot add or change"
      log "a port mapping on a running cluster: deleting and recreating it (what was deployed in it is lost;"
      log "make up deploys Airflow again)"
      "${KIND}" delete cluster --name "${AIRFLOW_K8S_CLUSTER}"
    elif [ "${AIRFLOW_K8S_RECREATE:-0}" != 1 ] && cluster_healthy; then
      log "cluster ${AIRFLOW_K8S_CLUSTER} already runs with ${NODE_IMAGE} and ${WANTED_MAPPING}: reusing it"
      mkdir -p "$(dirname "${AIRFLOW_K8S_KUBECONFIG}")"
      "${KIND}" export kubeconfig --name "${AIRFLOW_K8S_CLUSTER}" --kubeconfig "${AIRFLOW_K8S_KUBECONFIG}"
      return 0
    else
      log "deleting cluster ${AIRFLOW_K8S_CLUSTER} (recreate requested, other image, other node count or unhealthy)"
      "${KIND}" delete cluster --name "${AIRFLOW_K8S_CLUSTER}"
    fi
  fi
  host_port_free
  mkdir -p "$(dirname "${AIRFLOW_K8S_KUBECONFIG}")" "${REPO_ROOT}/.work"
  local config="${REPO_ROOT}/.work/kind-config-${AIRFLOW_K8S_CLUSTER}.yaml"
  sed -e "s/\bNODE_PORT\b/$(local_node_port)/" -e "s/\bHOST_PORT\b/${AIRFLOW_K8S_HOST_PORT}/" \
    -e "s/\bLISTEN_ADDRESS\b/\"${AIRFLOW_K8S_LISTEN_ADDRESS}\"/" "${CLUSTER_DIR}/kind-config.yaml" >"${config}"
  if [ "${AIRFLOW_K8S_WORKERS}" -gt 0 ]; then
    # Several nodes: the workers, and the shared host folder in every node (the control plane's entry is the last
    # node of kind-config.yaml, so its extraMounts go right after it; the workers follow).
    mkdir -p "${AIRFLOW_K8S_SHARED_DIR}"
    local mount i
    mount="    extraMounts:\n      - {hostPath: \"${AIRFLOW_K8S_SHARED_DIR}\", containerPath: ${SHARED_NODE_PATH}}"
    printf '%b\n' "${mount}" >>"${config}"
    for i in $(seq 1 "${AIRFLOW_K8S_WORKERS}"); do
      printf '  - role: worker\n%b\n' "${mount}" >>"${config}"
    done
  fi
  "${KIND}" create cluster --name "${AIRFLOW_K8S_CLUSTER}" --image "${NODE_IMAGE}" \
    --config "${config}" --kubeconfig "${AIRFLOW_K8S_KUBECONFIG}" --retain
  local have
  have="$(port_mapping "${NODE_CONTAINER}")"
  [ "${have}" = "${WANTED_MAPPING}" ] ||
    die "cluster ${AIRFLOW_K8S_CLUSTER} was created but publishes ${have:-no port}, not ${WANTED_MAPPING}"
}

stage_wait_ready() {
  local cni=airflow-k8s-netd
  [ "${OFFLINE}" = 1 ] || cni=kindnet
  kc wait --for=condition=Ready node --all --timeout=300s
  kc -n kube-system rollout status "daemonset/${cni}" --timeout=300s
  kc -n kube-system rollout status daemonset/kube-proxy --timeout=300s
  kc -n kube-system rollout status deployment/coredns --timeout=300s
  kc -n local-path-storage rollout status deployment/local-path-provisioner --timeout=300s
  local i
  for i in $(seq 1 60); do
    if kc get storageclass -o jsonpath='{range .items[*]}{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}{"\n"}{end}' | grep -qx true; then
      break
    fi
    [ "${i}" -lt 60 ] || die "no default StorageClass"
    sleep 2
  done
  kc get nodes -o wide
  kc get storageclass
}

stage_load_images() {
  local image nodes=()
  # With worker nodes the control plane keeps its NoSchedule taint: the images go to the workers only.
  if [ "${AIRFLOW_K8S_WORKERS}" -gt 0 ]; then
    nodes=(--nodes "$("${KIND}" get nodes --name "${AIRFLOW_K8S_CLUSTER}" | grep -v -- '-control-plane$' | paste -sd, -)")
  fi
  for image in "$@"; do
    docker image inspect "${image}" >/dev/null 2>&1 || die "image ${image} not found in the local docker"
    "${KIND}" load docker-image --name "${AIRFLOW_K8S_CLUSTER}" "${nodes[@]}" "${image}"
  done
}

main() {
  stage docker bash "${CLUSTER_DIR}/docker.sh"
  detect_offline
  apt_install curl jq
  stage kind stage_kind
  stage port-check stage_port_check
  if [ "${OFFLINE}" = 1 ]; then
    stage kubernetes-binaries bash "${CLUSTER_DIR}/build-kubernetes.sh"
    stage node-image stage_node_image
  else
    NODE_IMAGE="${UPSTREAM_NODE_IMAGE}"
  fi
  stage create-cluster stage_cluster
  stage wait-ready stage_wait_ready
  local extra=() image
  for image in "$@"; do [ -z "${image}" ] || extra+=("${image}"); done
  if [ "${OFFLINE}" = 0 ]; then
    # the offline node image holds the toolbox image; the upstream one does not
    stage toolbox-image bash "${CLUSTER_DIR}/build-node-image.sh" toolbox
    extra=("${TOOLBOX_IMAGE}" "${extra[@]}")
  fi
  if [ "${#extra[@]}" -gt 0 ]; then
    stage load-images stage_load_images "${extra[@]}"
  fi
  stage_table
  log "cluster ${AIRFLOW_K8S_CLUSTER} is up; KUBECONFIG=${AIRFLOW_K8S_KUBECONFIG}; node port $(local_node_port) on $(ui_url)"
}

main "$@"
