# shellcheck shell=bash
# Sourced by tests/scripts/up.sh and tests/scripts/test.sh: the images `tests/images/build.sh` chose (built here or
# upstream), in the variables inventories/local reads, and the kubeconfig of the kind cluster.
if [ -f "${REPO_ROOT}/.work/images.env" ]; then
  # shellcheck source=/dev/null
  . "${REPO_ROOT}/.work/images.env"
  export AIRFLOW_IMAGE POSTGRES_IMAGE
  # git-sync and the test git server (extensions/molecule/gitsync), when tests/images/build.sh has recorded them
  [ -z "${GIT_SYNC_IMAGE:-}" ] || export GIT_SYNC_IMAGE
  [ -z "${GIT_SERVER_IMAGE:-}" ] || export GIT_SERVER_IMAGE
  # the statsd exporter (airflow_core_statsd; the scenario that turns statsd on reads it)
  [ -z "${STATSD_EXPORTER_IMAGE:-}" ] || export STATSD_EXPORTER_IMAGE
  # the S3-compatible server of the remote logging test (extensions/molecule/gitsync)
  [ -z "${S3_SERVER_IMAGE:-}" ] || export S3_SERVER_IMAGE
  # the previous Airflow release (the upgrade scenario), when `tests/images/build.sh airflow-previous` has run
  [ -z "${AIRFLOW_PREVIOUS_IMAGE:-}" ] || export AIRFLOW_PREVIOUS_IMAGE
  export AIRFLOW_IMAGE_REPOSITORY="${AIRFLOW_IMAGE%:*}" AIRFLOW_IMAGE_TAG="${AIRFLOW_IMAGE##*:}"
fi
export KUBECONFIG="${AIRFLOW_K8S_KUBECONFIG}"
export ANSIBLE_CONFIG="${REPO_ROOT}/ansible.cfg"
export PATH="${REPO_ROOT}/.venv/bin:${PATH}"
