#!/usr/bin/env bash
# Entrypoint of the airflow-k8s Airflow image (installed as /entrypoint; PID 1 is dumb-init).
#
#   docker run IMG                      -> airflow version           (default CMD)
#   docker run IMG scheduler            -> airflow scheduler         (first arg is not a program)
#   docker run IMG airflow db migrate   -> airflow db migrate        (first arg is a program: exec'd as is)
#   docker run IMG python -m ...        -> python -m ...             (KubernetesExecutor worker pods)
#   docker run IMG bash -c '...'        -> bash -c '...'
#
# CONNECTION_CHECK_MAX_COUNT (default 20): before an airflow command other than `version`, try
# `airflow db check` up to that many times, CONNECTION_CHECK_SLEEP_TIME (default 3) seconds apart;
# 0 skips the check (set it to 0 for worker pods). Other programs (python, bash, ...) never wait.
set -euo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }

wait_for_db() {
  local max="${CONNECTION_CHECK_MAX_COUNT:-20}" pause="${CONNECTION_CHECK_SLEEP_TIME:-3}" try
  [[ "$max" =~ ^[0-9]+$ ]] || { log "CONNECTION_CHECK_MAX_COUNT must be a number, got '$max'"; exit 1; }
  ((max > 0)) || return 0
  for ((try = 1; try <= max; try++)); do
    if airflow db check >/dev/null 2>&1; then
      return 0
    fi
    log "database not reachable yet (try $try/$max), retrying in ${pause}s"
    ((try < max)) && sleep "$pause"
  done
  log "database still not reachable after $max tries; last error:"
  airflow db check >&2 || true
  exit 1
}

# True when the airflow subcommand in "$1" talks to the metadata DB and deserves the wait.
needs_db() {
  case "${1:-}" in
    "" | version | cheat-sheet | config | -h | --help) return 1 ;;
    *) return 0 ;;
  esac
}

if [[ $# -eq 0 ]]; then
  set -- version
fi

if [[ "$1" == airflow ]]; then
  needs_db "${2:-}" && wait_for_db
  exec "$@"
elif [[ "$1" == -* ]] || ! type -P -- "$1" >/dev/null; then
  # Not a program on PATH nor a path: an airflow subcommand (scheduler, api-server, db, ...).
  needs_db "$1" && wait_for_db
  exec airflow "$@"
else
  exec "$@"
fi
