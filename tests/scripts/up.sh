#!/usr/bin/env bash
# make up: on a fresh machine, a kind cluster running Airflow from inventories/local.
# Every stage prints its duration; a table closes the run. The address printed at the end has answered:
# the kind port mapping publishes the api-server's NodePort on localhost:${AIRFLOW_K8S_HOST_PORT:-8080}.
# make test works on its own cluster (tests/scripts/test.sh) and never touches this one.
set -euo pipefail
. "$(cd "$(dirname "$0")/../kind" && pwd)/lib.sh"
cd "${REPO_ROOT}"

stage python-tooling make -s venv
stage docker-engine tests/kind/docker.sh
# Only the two images inventories/local runs (the git-sync and git server images are for the tests).
stage image-airflow tests/images/build.sh airflow
stage image-postgres tests/images/build.sh postgres
. tests/scripts/env.sh
stage kind-cluster tests/kind/up.sh "${AIRFLOW_IMAGE}" "${POSTGRES_IMAGE}"
. tests/scripts/env.sh
stage airflow ansible-playbook -i inventories/local playbooks/site.yml

ns=airflow
# wait_ui: the address to print answers on this machine (the api-server's health endpoint reports a healthy
# metadata database), or the run fails saying what is published and where the Service listens.
wait_ui() {
  local url health i
  url="$(ui_url)/api/v2/monitor/health"
  for i in $(seq 1 60); do
    if health="$(curl -fsS -m 10 "${url}" 2>/dev/null)" &&
      jq -e '.metadatabase.status == "healthy"' >/dev/null 2>&1 <<<"${health}"; then
      log "${url} answers: $(jq -c . <<<"${health}")"
      return 0
    fi
    [ "${i}" -eq 60 ] || sleep 5
  done
  log "ERROR: ${url} did not answer with a healthy metadatabase within 5 minutes (last answer: ${health:-none})"
  log "  the node publishes: $(docker port "${AIRFLOW_K8S_CLUSTER}-control-plane" 2>&1 | paste -sd ' ')"
  log "  api-server Service: $(kubectl -n "${ns}" get service -l app.kubernetes.io/component=api-server \
    -o jsonpath='{range .items[*]}{.metadata.name} {.spec.type} nodePort {.spec.ports[0].nodePort}{"\n"}{end}' 2>&1)"
  log "  expected: node port $(local_node_port) published on ${AIRFLOW_K8S_LISTEN_ADDRESS}:${AIRFLOW_K8S_HOST_PORT}"
  return 1
}
stage ui-address wait_ui
stage_table

cat <<MSG
Airflow is up.
  UI and REST API:  $(ui_url)   (user: admin)
  admin password:   kubectl --kubeconfig ${KUBECONFIG} -n ${ns} get secret airflow-secrets -o jsonpath='{.data.admin-password}' | base64 -d
  kubeconfig:       ${KUBECONFIG}
  remove it all:    make down
MSG
