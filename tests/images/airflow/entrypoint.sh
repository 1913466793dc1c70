#!/usr/bin/env bash
# Entrypoint of the airflow-k8s Airflow image (installed as /entrypoint; PID 1 is dumb-init).
#
#   docker run IMG                      -> airflow version           (default CMD)
#   docker run IMG scheduler            -> airflow scheduler         (first arg is not a program)
#   docker run IMG airflow db migrate   -> airflow db migrate        (first arg is a program: exec'd as is)
#   docker run IMG python -m ...        -> python -m ...             (KubernetesExecutor worker pods)
#   docker run IMG bash -c '...'        -> bash -c '...'
#
# CONNECTION_CHECK_MAX_COUNT (default 20): before an airflow command other than `version`, check that
# the metadata database accepts a connection, up to that many times, CONNECTION_CHECK_SLEEP_TIME
# (default 3) seconds apart; 0 skips the check (set it to 0 for worker pods). Other programs (python,
# bash, ...) never wait. The check opens one SQLAlchemy connection to AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
# (about 0.6 s of CPU); `airflow db check` imports all of Airflow (about 3 s) and is used instead when the
# URL is not in that variable (airflow.cfg, a _CMD or _SECRET variant) or connect or engine arguments are
# configured; it also decides, with its error printed, once the tries are used up.
set -euo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }

# db_probe: one connection attempt, at most 10 s. Prints the kind of probe on fd 3.
db_probe() {
  if [[ -n "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" && -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-}" &&
        -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_ENGINE_ARGS:-}" ]]; then
    echo sqlalchemy >&3
    timeout 10 python3 -c 'import os, sqlalchemy
sqlalchemy.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).connect().close()'
  else
    echo "airflow db check" >&3
    airflow db check
  fi
}

wait_for_db() {
  local max="${CONNECTION_CHECK_MAX_COUNT:-20}" pause="${CONNECTION_CHECK_SLEEP_TIME:-3}" try probe
  [[ "$max" =~ ^[0-9]+$ ]] || { log "CONNECTION_CHECK_MAX_COUNT must be a number, got '$max'"; exit 1; }
  [[ "$pause" =~ ^[0-9]+([.][0-9]+)?$ ]] || { log "CONNECTION_CHECK_SLEEP_TIME must be a number, got '$pause'"; exit 1; }
  ((max > 0)) || return 0
  for ((try = 1; try <= max; try++)); do
    if probe="$(db_probe 3>&1 >/dev/null 2>&1)"; then
      log "database reachable ($probe, try $try/$max)"
      return 0
    fi
    log "database not reachable yet ($probe, try $try/$max), retrying in ${pause}s"
    ((try < max)) && sleep "$pause"
  done
  # The last word is Airflow's own check: it prints why, and a probe that cannot see what Airflow
  # sees (a dialect or option the probe does not apply) does not stop a reachable database.
  log "database still not reachable after $max tries; airflow db check:"
  if airflow db check >&2; then
    return 0
  fi
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
