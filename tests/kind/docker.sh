#!/bin/bash
# Makes sure a working Docker engine runs on this machine:
#   - installs Debian's docker.io (pinned) when dockerd is absent,
#   - registers the capability-fix OCI runtime wrapper when the host's capability
#     bounding set lacks capabilities Docker 20.10 asks for (privileged containers),
#   - starts dockerd in the background (no systemd here), logging to /var/log/dockerd.log,
#   - waits until `docker info` answers.
# Idempotent: does nothing when `docker info` already works.
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CAPFIX_PATH=/usr/local/libexec/airflow-k8s/runc-capfix
DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=/var/log/dockerd.log

# True when CapBnd lacks a capability the kernel knows (cap_last_cap).
capfix_needed() {
  local last bnd want
  last="$(cat /proc/sys/kernel/cap_last_cap)"
  bnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
  want=$(((1 << (last + 1)) - 1))
  [ $((16#${bnd} & want)) -ne "${want}" ]
}

install_docker() {
  if command -v dockerd >/dev/null 2>&1; then
    apt_install jq libcap2-bin iptables
    return 0
  fi
  # The package's maintainer scripts would try to start the service: forbid that
  # for the duration of the install (we start dockerd ourselves, with our config).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "${policy}" ]; then
    printf '#!/bin/sh\nexit 101\n' >"${policy}"
    chmod +x "${policy}"
    created_policy=1
  fi
  apt_install "docker.io=${DOCKER_IO_DEB_VERSION}" "containerd=${CONTAINERD_DEB_VERSION}" \
    "runc=${RUNC_DEB_VERSION}" jq libcap2-bin iptables ca-certificates || {
    [ "${created_policy}" -eq 0 ] || rm -f "${policy}"
    return 1
  }
  [ "${created_policy}" -eq 0 ] || rm -f "${policy}"
}

configure_capfix() {
  if ! capfix_needed; then
    log "capability bounding set is complete: no runtime wrapper needed"
    return 0
  fi
  log "capability bounding set is incomplete: registering ${CAPFIX_PATH} as default runtime"
  install -D -m 0755 "${CLUSTER_DIR}/runc-capfix" "${CAPFIX_PATH}"
  mkdir -p "$(dirname "${DAEMON_JSON}")"
  local current='{}' tmp
  [ -s "${DAEMON_JSON}" ] && current="$(cat "${DAEMON_JSON}")"
  tmp="$(mktemp)"
  jq --arg path "${CAPFIX_PATH}" \
    '.runtimes["airflow-k8s-capfix"] = {path: $path} | .["default-runtime"] = "airflow-k8s-capfix"' \
    <<<"${current}" >"${tmp}"
  if ! cmp -s "${tmp}" "${DAEMON_JSON}" 2>/dev/null; then
    mv "${tmp}" "${DAEMON_JSON}"
  else
    rm -f "${tmp}"
  fi
}

start_dockerd() {
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd already running (pid $(pgrep -x dockerd | head -1)); waiting for it"
  else
    log "starting dockerd in the background (log: ${DOCKERD_LOG})"
    # setsid + nohup: dockerd outlives this script and the shell that ran it.
    setsid nohup dockerd >>"${DOCKERD_LOG}" 2>&1 </dev/null &
  fi
  local _
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
      log "docker is ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
      return 0
    fi
    sleep 0.5
  done
  tail -n 30 "${DOCKERD_LOG}" >&2 || true
  die "dockerd did not become ready within 60 s"
}

main() {
  if docker info >/dev/null 2>&1; then
    log "docker already works ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    if capfix_needed && ! docker info --format '{{.DefaultRuntime}}' | grep -qx airflow-k8s-capfix; then
      log "WARNING: this dockerd was not started with the capability-fix runtime;" \
        "privileged containers (kind nodes) may fail with 'unable to apply caps'"
    fi
    return 0
  fi
  install_docker
  configure_capfix
  start_dockerd
}

main "$@"
