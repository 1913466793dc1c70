#!/usr/bin/env bash
# make up: on a fresh machine, a kind cluster running Airflow from inventories/local.
# Every stage prints its duration; a table closes the run.
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
stage_table

ns=airflow
cat <<MSG
Airflow is up.
  UI and REST API:  http://localhost:8080   (user: admin)
  admin password:   kubectl --kubeconfig ${KUBECONFIG} -n ${ns} get secret airflow-secrets -o jsonpath='{.data.admin-password}' | base64 -d
  kubeconfig:       ${KUBECONFIG}
  remove it all:    make down
MSG
