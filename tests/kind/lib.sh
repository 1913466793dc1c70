# shellcheck shell=bash
# Shared helpers for the cluster scripts. Source it; do not run it.

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${CLUSTER_DIR}/../.." && pwd)"
export CLUSTER_DIR REPO_ROOT

# shellcheck source=tests/kind/versions.env
. "${CLUSTER_DIR}/versions.env"

AIRFLOW_K8S_CACHE="${AIRFLOW_K8S_CACHE:-/var/cache/airflow-k8s}"
AIRFLOW_K8S_KUBECONFIG="${AIRFLOW_K8S_KUBECONFIG:-${REPO_ROOT}/.work/kubeconfig}"
AIRFLOW_K8S_CLUSTER="${AIRFLOW_K8S_CLUSTER:-airflow-k8s}"
# The node's port AIRFLOW_K8S_NODE_PORT (the api-server's NodePort in inventories/local, read from there) is
# published on the host at AIRFLOW_K8S_LISTEN_ADDRESS:AIRFLOW_K8S_HOST_PORT: `make up` prints
# http://localhost:<host port>. make test's own cluster uses another host port (tests/scripts/test.sh).
AIRFLOW_K8S_HOST_PORT="${AIRFLOW_K8S_HOST_PORT:-8080}"
AIRFLOW_K8S_LISTEN_ADDRESS="${AIRFLOW_K8S_LISTEN_ADDRESS:-127.0.0.1}"
export AIRFLOW_K8S_CACHE AIRFLOW_K8S_KUBECONFIG AIRFLOW_K8S_CLUSTER AIRFLOW_K8S_HOST_PORT AIRFLOW_K8S_LISTEN_ADDRESS

# Where our own Go-built tools land (kind, crictl, ...), keyed by version below.
export BIN_CACHE="${AIRFLOW_K8S_CACHE}/bin"

# Go toolchain and module settings used by every build.
export PATH="/usr/local/go/bin:${PATH}"
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# use_test_cluster: make test's own cluster, so that make up's (the defaults above) is never touched by it:
# airflow-k8s-test, .work/test-kubeconfig, the node port on the host's 18080 (AIRFLOW_K8S_TEST_* override them).
use_test_cluster() {
  AIRFLOW_K8S_CLUSTER="${AIRFLOW_K8S_TEST_CLUSTER:-airflow-k8s-test}"
  AIRFLOW_K8S_KUBECONFIG="${AIRFLOW_K8S_TEST_KUBECONFIG:-${REPO_ROOT}/.work/test-kubeconfig}"
  AIRFLOW_K8S_HOST_PORT="${AIRFLOW_K8S_TEST_HOST_PORT:-18080}"
  export AIRFLOW_K8S_CLUSTER AIRFLOW_K8S_KUBECONFIG AIRFLOW_K8S_HOST_PORT
}

# use_multinode_cluster: make test's second cluster, for the scenarios that need several nodes (the drain drill of
# extensions/molecule/multinode): airflow-k8s-multi, one control plane and AIRFLOW_K8S_WORKERS=2 workers,
# .work/multi-kubeconfig, the node port on the host's 18082, every node mounting the host folder
# AIRFLOW_K8S_SHARED_DIR (AIRFLOW_K8S_MULTI_* override them).
use_multinode_cluster() {
  AIRFLOW_K8S_CLUSTER="${AIRFLOW_K8S_MULTI_CLUSTER:-airflow-k8s-multi}"
  AIRFLOW_K8S_KUBECONFIG="${AIRFLOW_K8S_MULTI_KUBECONFIG:-${REPO_ROOT}/.work/multi-kubeconfig}"
  AIRFLOW_K8S_HOST_PORT="${AIRFLOW_K8S_MULTI_HOST_PORT:-18082}"
  AIRFLOW_K8S_WORKERS="${AIRFLOW_K8S_MULTI_WORKERS:-2}"
  export AIRFLOW_K8S_CLUSTER AIRFLOW_K8S_KUBECONFIG AIRFLOW_K8S_HOST_PORT AIRFLOW_K8S_WORKERS
}

# Worker nodes beside the control plane (0: the control plane runs everything, as make up's and make test's clusters
# do). With workers, every node mounts the host folder AIRFLOW_K8S_SHARED_DIR at SHARED_NODE_PATH: storage every
# node sees (this kernel has no NFS), for static hostPath PersistentVolumes in the tests.
AIRFLOW_K8S_WORKERS="${AIRFLOW_K8S_WORKERS:-0}"
AIRFLOW_K8S_SHARED_DIR="${AIRFLOW_K8S_SHARED_DIR:-${REPO_ROOT}/.work/shared-volumes}"
SHARED_NODE_PATH=/var/local/airflow-k8s-shared
export AIRFLOW_K8S_WORKERS AIRFLOW_K8S_SHARED_DIR SHARED_NODE_PATH

# local_node_port: the NodePort of the api-server Service in inventories/local (airflow_core_api_server.node_port),
# the one fact the kind port mapping and the inventory share; read from the inventory so it is written once.
local_node_port() {
  local file="${REPO_ROOT}/inventories/local/group_vars/airflow/main.yml" port
  port="$(awk '/^airflow_core_api_server:/ {in_block = 1; next}
               in_block && /^[^ #]/ {exit}
               in_block && $1 == "node_port:" {print $2; exit}' "${file}")"
  [[ "${port}" =~ ^[0-9]+$ ]] || die "no airflow_core_api_server.node_port in ${file#"${REPO_ROOT}"/}"
  echo "${port}"
}

# ui_url: the address `make up` prints (the api-server through the kind port mapping).
ui_url() { echo "http://localhost:${AIRFLOW_K8S_HOST_PORT}"; }

# apt_update_once: refreshes the package lists once per machine (and when empty).
apt_update_once() {
  local marker=/var/lib/apt/periodic/airflow-k8s-updated
  if [ ! -f "${marker}" ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ]; then
    log "apt-get update"
    apt-get update -qq
    mkdir -p "$(dirname "${marker}")" && touch "${marker}"
  fi
}

# apt_install PKG[=VERSION]...: installs only what is missing, without starting services.
apt_install() {
  local missing=() spec name
  for spec in "$@"; do
    name="${spec%%=*}"
    dpkg-query -W -f='${Status}' "${name}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${spec}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  apt_update_once
  log "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # stale package lists (a point release replaced a version): refresh, retry once
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# need_go: a Go toolchain >= GO_MIN_VERSION on PATH. The machine ships one in
# /usr/local/go; otherwise Debian trixie's golang-${GO_MIN_VERSION}-go is
# installed (trixie added at a low pin priority, so nothing else comes from it).
need_go() {
  if go_ok; then return 0; fi
  local gobin="/usr/lib/go-${GO_MIN_VERSION}/bin"
  if [ ! -x "${gobin}/go" ]; then
    log "no Go >= ${GO_MIN_VERSION}: installing golang-${GO_MIN_VERSION}-go from Debian trixie"
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "${DEBIAN_MIRROR}" >/etc/apt/sources.list.d/airflow-k8s-trixie.sources
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/airflow-k8s-trixie
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
      "golang-${GO_MIN_VERSION}-go" >/dev/null
  fi
  export PATH="${gobin}:${PATH}"
  go_ok || die "no usable Go toolchain"
}

go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v
  v="$(go env GOVERSION 2>/dev/null)"; v="${v#go}"
  [ "$(printf '%s\n%s\n' "${GO_MIN_VERSION}" "${v}" | sort -V | head -1)" = "${GO_MIN_VERSION}" ]
}

# Stage timing: stage NAME CMD... runs CMD, prints its duration and records it for the table; a failing
# stage ends the run. stage_keep_going NAME CMD... records a failure and carries on (independent Molecule
# scenarios: one red scenario must not hide the others); stage_failures is non-zero if one failed.
STAGE_FAILED=()
_stage_run() {
  local name="$1" start end rc=0 cpu0
  shift
  if stage_deadline_passed; then
    _stage_record "${name}" 0 124 -
    return 124
  fi
  log "=== stage: ${name}"
  start=$(date +%s)
  cpu0=$(_cpu_ticks)
  "$@" || rc=$?
  end=$(date +%s)
  _stage_record "${name}" "$((end - start))" "${rc}" "$(_cpu_busy_since "${cpu0}")"
}

# _cpu_ticks: "busy total steal" jiffies of the whole machine (/proc/stat); _cpu_busy_since "BUSY TOTAL STEAL": the
# machine's busy share in % since then. In the table it says whether a stage waited (low) or had the CPUs to itself or
# shared them. _cpu_steal_since: the share the hypervisor gave to others (a slow run on a busy host shows there).
_cpu_ticks() {
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
  echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + irq + softirq + steal + idle + iowait)) ${steal}"
}
_cpu_share_since() {  # FIELD(1 busy, 3 steal) "BUSY TOTAL STEAL"
  local then now
  read -r -a then <<<"$2"
  read -r -a now <<<"$(_cpu_ticks)"
  [ "$((now[1] - then[1]))" -gt 0 ] && echo "$(( 100 * (now[$1 - 1] - then[$1 - 1]) / (now[1] - then[1]) ))" || echo "-"
}
_cpu_busy_since() { _cpu_share_since 1 "$1"; }
_cpu_steal_since() { _cpu_share_since 3 "$1"; }

# _stage_record NAME SECONDS RC [BUSY%]: a row of the table, and the log line; returns RC.
_stage_record() {
  STAGE_NAMES+=("$1")
  STAGE_SECS+=("$2")
  STAGE_RCS+=("$3")
  STAGE_BUSY+=("${4:--}")
  if [ "$3" -eq 124 ] && stage_deadline_passed; then
    log "=== stage $1 stopped by the deadline after $2 s"
  elif [ "$3" -ne 0 ]; then
    log "=== stage $1 FAILED after $2 s (exit $3)"
  else
    log "=== stage $1 done in $2 s"
  fi
  return "$3"
}

# _end_on_failure CMD...: runs CMD; when it fails, prints the table and ends the run with its status.
_end_on_failure() {
  local rc=0
  "$@" || rc=$?
  if [ "${rc}" -ne 0 ]; then
    # make test's exit trap prints the table itself, after the background stages' rows (STAGE_TABLE_AT_EXIT=1)
    [ -n "${STAGE_TABLE_AT_EXIT:-}" ] || stage_table
    exit "${rc}"
  fi
}

stage() {
  _end_on_failure _stage_run "$@"
}

stage_keep_going() {
  _stage_run "$@" || STAGE_FAILED+=("$1")
}

# stage_background NAME CMD... starts CMD now, its output into .work/test-output/NAME.log, while the next stages run
# in the foreground; stage_wait NAME waits for it, prints its output, records its duration (it overlaps the stages run
# meanwhile: the table's "wall clock" line is the run's real length) and ends the run if it failed. stage_kill_background
# stops what is still running (make test's exit trap).
STAGE_BG_PIDS=()
STAGE_BG_NAMES=()
stage_background() {
  local name="$1" out="${REPO_ROOT}/.work/test-output/$1.log"
  shift
  mkdir -p "${REPO_ROOT}/.work/test-output"
  rm -f "${out}.result"
  log "=== stage: ${name} (in the background, output in ${out#"${REPO_ROOT}"/})"
  STAGE_BG_NAMES+=("${name}")
  eval "STAGE_BG_START_${name//-/_}=$(date +%s)"
  ( _stage_bg_start=$(date +%s); _stage_bg_cpu=$(_cpu_ticks); rc=0; "$@" || rc=$?
    echo "$(( $(date +%s) - _stage_bg_start )) ${rc} $(_cpu_busy_since "${_stage_bg_cpu}")" >"${out}.result.tmp"
    mv "${out}.result.tmp" "${out}.result"; exit "${rc}" ) >"${out}" 2>&1 &
  STAGE_BG_PIDS+=("$!")
  eval "STAGE_BG_PID_${name//-/_}=$!"
}

stage_wait() {
  _end_on_failure _stage_wait_record "$1"
}

# stage_wait_keep_going NAME: stage_wait that records a failure and carries on (as stage_keep_going).
stage_wait_keep_going() {
  _stage_wait_record "$1" || STAGE_FAILED+=("$1")
}

_stage_wait_record() {
  local name="$1" out="${REPO_ROOT}/.work/test-output/$1.log" pid_var secs rc=0 busy
  pid_var="STAGE_BG_PID_${name//-/_}"
  log "=== stage: ${name}, waiting for it"
  wait "${!pid_var}" || true
  cat "${out}" >&2
  eval "STAGE_BG_SHOWN_${name//-/_}=1"
  _stage_bg_record "${name}"
}

# _stage_bg_record NAME: the table's row of a background stage: its result, or "stopped" with how long it had run
# (the deadline or a failed stage ended the run while it ran).
_stage_bg_record() {
  local name="$1" out="${REPO_ROOT}/.work/test-output/$1.log" secs rc busy start_var
  start_var="STAGE_BG_START_${name//-/_}"
  if ! read -r secs rc busy 2>/dev/null <"${out}.result"; then
    secs=$(( $(date +%s) - ${!start_var:-$(date +%s)} )) rc=143 busy=-
  fi
  eval "STAGE_BG_RECORDED_${name//-/_}=1"
  _stage_record "${name} (background)" "${secs}" "${rc}" "${busy}"
}

# stage_report_background: at the end of a run, the rows of the background stages never waited for, and the last
# lines of the output of those that failed or were stopped and whose output was not shown yet.
stage_report_background() {
  local name rec_var shown_var out rc
  for name in "${STAGE_BG_NAMES[@]}"; do
    rec_var="STAGE_BG_RECORDED_${name//-/_}"
    shown_var="STAGE_BG_SHOWN_${name//-/_}"
    out="${REPO_ROOT}/.work/test-output/${name}.log"
    [ -n "${!rec_var:-}" ] || _stage_bg_record "${name}" || true
    rc=143
    read -r _ rc _ 2>/dev/null <"${out}.result" || rc=143
    if [ -z "${!shown_var:-}" ] && [ "${rc}" -ne 0 ] && [ -s "${out}" ]; then
      log "=== the last 150 lines of ${name}'s output (${out#"${REPO_ROOT}"/}):"
      tail -n 150 "${out}" >&2
    fi
  done
}

# stage_after NAME: in a background stage, wait until the background stage NAME has ended; fails if NAME failed.
# Both count the stage's own time (the table's seconds and busy%) from the end of the wait.
stage_after() {
  local result="${REPO_ROOT}/.work/test-output/$1.log.result" secs rc _busy
  until [ -e "${result}" ]; do sleep 2; done
  _stage_bg_start=$(date +%s) _stage_bg_cpu=$(_cpu_ticks)
  read -r secs rc _busy <"${result}" || return 1
  [ "${rc}" -eq 0 ] || { echo "background stage $1 failed (exit ${rc}): not starting" >&2; return 1; }
}

# stage_after_end NAME: in a background stage, wait until the background stage NAME has ended, passed or not.
stage_after_end() {
  until [ -e "${REPO_ROOT}/.work/test-output/$1.log.result" ]; do sleep 2; done
  _stage_bg_start=$(date +%s) _stage_bg_cpu=$(_cpu_ticks)
}

stage_kill_background() {
  local pid
  [ -z "${STAGE_WATCHDOG_PID:-}" ] || _stage_kill_tree "${STAGE_WATCHDOG_PID}"
  for pid in "${STAGE_BG_PIDS[@]}"; do
    _stage_kill_tree "${pid}"
    wait "${pid}" 2>/dev/null || true
  done
}

# _stage_kill_tree PID: stop PID and every process under it (a background Molecule run's ansible-playbook and kubectl).
_stage_kill_tree() {
  local child
  kill -STOP "$1" 2>/dev/null || return 0
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    _stage_kill_tree "${child}"
  done
  kill -TERM "$1" 2>/dev/null || true
  kill -CONT "$1" 2>/dev/null || true
}

stage_failures() {
  if [ "${#STAGE_FAILED[@]}" -gt 0 ]; then
    log "failed stages: ${STAGE_FAILED[*]}"
    return 1
  fi
}

# _stage_failed_outputs: "name path" for each failed stage that kept its output in .work/test-output/<stage>.log (the
# background stages, the Molecule scenarios).
_stage_failed_outputs() {
  local i name
  for i in "${!STAGE_NAMES[@]}"; do
    [ "${STAGE_RCS[$i]:-0}" -ne 0 ] || continue
    name="${STAGE_NAMES[$i]% (background)}"
    [ ! -s "${REPO_ROOT}/.work/test-output/${name}.log" ] || printf '%s %s\n' "${name}" "${REPO_ROOT}/.work/test-output/${name}.log"
  done
}

# stage_failure_digest: for each of them, its first failed tasks and errors in a few lines, just above the table.
stage_failure_digest() {
  local name out lines
  while read -r name out; do
    lines="$(sed 's/\x1b\[[0-9;]*m//g' "${out}" |
      grep -a -E -A8 -m4 'fatal: \[|FAILED! =>|^E   |AssertionError|ERROR[: ]|Traceback \(most recent' |
      cut -c1-240 | head -n 40)" || true
    [ -n "${lines}" ] || continue
    printf '\n--- %s: the first failures in %s\n%s\n' "${name}" "${out#"${REPO_ROOT}"/}" "${lines}" >&2
  done < <(_stage_failed_outputs)
}

# stage_first_failures: one line for each, its first failed task (Ansible, not an ignored one) or test (pytest) and the
# start of the error: the run's last lines, below the table and the cluster's removal, which is all that CI's summary
# of a red run may show.
stage_first_failures() {
  local name out line
  while read -r name out; do
    line="$(sed 's/\x1b\[[0-9;]*m//g' "${out}" | awk '
      /^TASK \[/ { task = $0; sub(/ \**$/, "", task) }
      pending != "" { if ($0 !~ /^\.\.\.ignoring/) { print pending; pending = ""; exit } pending = "" }
      /fatal: \[|FAILED! =>/ { pending = task " " $0 }
      /^(FAILED|ERROR) [^ ]+::/ { print; exit }
      END { if (pending != "") print pending }')" || true
    [ -z "${line}" ] || printf '%s: %s\n' "${name}" "${line}" | cut -c1-400 >&2
  done < <(_stage_failed_outputs)
}

# The deadline: CI stops a run after 90 minutes without a word of what ran. stage_deadline SECONDS starts a watchdog
# that, that long after the run started, stops every stage still running (foreground and background) and lets the
# run end the normal way: the exit trap then prints the table, with what was stopped and what never started, and the
# end of the output of the background stages that did not pass.
STAGE_DEADLINE_MARK="${REPO_ROOT}/.work/test-output/.deadline-passed"
STAGE_DEADLINE_SET=""
stage_deadline() {
  local main=$$
  STAGE_DEADLINE_SET=1
  mkdir -p "$(dirname "${STAGE_DEADLINE_MARK}")"
  rm -f "${STAGE_DEADLINE_MARK}"
  ( sleep "$1"
    touch "${STAGE_DEADLINE_MARK}"
    log "=== deadline: $1 s since the run started; stopping every stage still running"
    for child in $(ps -o pid= --ppid "${main}" 2>/dev/null); do
      [ "${child}" = "${BASHPID}" ] || _stage_kill_tree "${child}"
    done ) &
  STAGE_WATCHDOG_PID=$!
}
# (only in the run that set the deadline: a mark left by an earlier run means nothing to make up's stages)
stage_deadline_passed() { [ -n "${STAGE_DEADLINE_SET}" ] && [ -e "${STAGE_DEADLINE_MARK}" ]; }

STAGE_T0=$(date +%s)
STAGE_CPU0=$(_cpu_ticks)
STAGE_TABLE_PRINTED=""
stage_table() {
  local i total=0 result
  [ -z "${STAGE_TABLE_PRINTED}" ] || return 0
  STAGE_TABLE_PRINTED=1
  printf '\n%-28s %8s %6s  %s\n' "stage" "seconds" "busy%" "result" >&2
  printf '%-28s %8s %6s  %s\n' "----------------------------" "-------" "-----" "------" >&2
  for i in "${!STAGE_NAMES[@]}"; do
    result=ok
    if [ "${STAGE_RCS[$i]:-0}" -ne 0 ]; then
      result="FAILED (exit ${STAGE_RCS[$i]})"
      if stage_deadline_passed; then
        case "${STAGE_RCS[$i]}" in
          124) result="not started (deadline)" ;;
          143|137) result="stopped by the deadline" ;;
          *) [ "${STAGE_SECS[$i]}" -lt 1 ] || result="FAILED or stopped by the deadline (exit ${STAGE_RCS[$i]})" ;;
        esac
      fi
    fi
    printf '%-28s %8s %6s  %s\n' "${STAGE_NAMES[$i]}" "${STAGE_SECS[$i]}" "${STAGE_BUSY[$i]:--}" "${result}" >&2
    total=$((total + STAGE_SECS[i]))
  done
  printf '%-28s %8s\n' "total of the stages" "${total}" >&2
  printf '%-28s %8s %6s  %s\n' "wall clock" "$(( $(date +%s) - STAGE_T0 ))" "$(_cpu_busy_since "${STAGE_CPU0}")" \
    "steal $(_cpu_steal_since "${STAGE_CPU0}")%, $(nproc) CPUs, load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  if stage_deadline_passed; then
    printf 'THE RUN WAS STOPPED BY ITS DEADLINE (AIRFLOW_K8S_TEST_DEADLINE)\n' >&2
  fi
  printf '\n' >&2
}
