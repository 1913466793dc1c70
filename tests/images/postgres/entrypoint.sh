#!/usr/bin/env bash
# Entrypoint of the airflow-k8s Postgres image (installed as /entrypoint; the image runs as 999).
#
# Environment (same names as the official postgres image):
#   POSTGRES_USER              superuser to create (default postgres)
#   POSTGRES_PASSWORD          its password; required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_PASSWORD_FILE     read the password from this file instead
#   POSTGRES_DB                database to create (default: POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments
#   POSTGRES_HOST_AUTH_METHOD  auth method of host (TCP) connections (default scram-sha-256)
#   PGDATA                     data directory (default /var/lib/postgresql/data); its parent must
#                              be writable (e.g. a PVC mounted at /var/lib/postgresql with fsGroup)
# TLS (ours):
#   POSTGRES_SSL_CERT_FILE, POSTGRES_SSL_KEY_FILE  start with ssl=on using them (the key is copied
#                              to a private 0600 file, so a mounted Secret of any mode works)
#   POSTGRES_SSL_CA_FILE       optional ssl_ca_file (client certificates)
#   POSTGRES_SSL_ONLY=1        reject non-TLS TCP connections (hostssl-only pg_hba)
#
# Arguments: none or options (-c key=value ...) -> postgres with them; `postgres ...` likewise;
# anything else is exec'd as is. An empty PGDATA is initialised once (initdb, user, database,
# /docker-entrypoint-initdb.d/*.sql|*.sh); later starts reuse it.
set -euo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HBA_MARKER="# managed by the airflow-k8s postgres entrypoint"

if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- postgres "$@"
fi
if [[ "$1" != postgres ]]; then
  exec "$@"
fi
shift # the rest are postgres options

if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
  [[ -z "${POSTGRES_PASSWORD:-}" ]] || die "set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, not both"
  POSTGRES_PASSWORD="$(<"$POSTGRES_PASSWORD_FILE")"
fi
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
POSTGRES_SSL_ONLY="${POSTGRES_SSL_ONLY:-0}"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

# Started as root (docker run --user 0): prepare PGDATA and the TLS key for postgres, drop to it.
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 0700 "$PGDATA"
  if [[ -n "${POSTGRES_SSL_KEY_FILE:-}" ]]; then
    keydir="$(mktemp -d /tmp/pg-tls.XXXXXX)"
    install -o postgres -g postgres -m 0600 "$POSTGRES_SSL_KEY_FILE" "$keydir/server.key"
    chown postgres:postgres "$keydir"
    export POSTGRES_SSL_KEY_FILE="$keydir/server.key"
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" postgres "$@"
fi

id -un >/dev/null 2>&1 || die "uid $(id -u) has no passwd entry (initdb needs one): run as uid 999"

if ! mkdir -p "$PGDATA" 2>/dev/null; then
  die "cannot create PGDATA=$PGDATA as uid $(id -u): make its parent writable (e.g. fsGroup 999)"
fi
if [[ ! -O "$PGDATA" ]]; then
  die "PGDATA=$PGDATA is owned by $(stat -c %u:%g "$PGDATA"), not by uid $(id -u); mount the volume at its parent (e.g. /var/lib/postgresql) so PGDATA is a subdirectory"
fi
chmod 0700 "$PGDATA"

write_hba() {
  local method="$POSTGRES_HOST_AUTH_METHOD"
  {
    echo "$HBA_MARKER (rewritten at every start from POSTGRES_HOST_AUTH_METHOD and POSTGRES_SSL_ONLY;"
    echo "# delete these two lines to keep a pg_hba.conf of your own)"
    echo "# TYPE     DATABASE  USER  ADDRESS  METHOD"
    echo "local      all       all            trust"
    if [[ "$POSTGRES_SSL_ONLY" == 1 ]]; then
      echo "hostssl    all       all   all      $method"
      echo "hostnossl  all       all   all      reject"
    else
      echo "host       all       all   all      $method"
    fi
  } >"$PGDATA/pg_hba.conf"
}

init_cluster() {
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$POSTGRES_HOST_AUTH_METHOD" != trust ]]; then
    die "POSTGRES_PASSWORD is required to initialise the database (or set POSTGRES_HOST_AUTH_METHOD=trust)"
  fi
  if [[ -n "$(ls -A "$PGDATA")" ]]; then
    die "PGDATA=$PGDATA has no PG_VERSION but is not empty: refusing to initialise over it"
  fi
  log "initialising a new cluster in $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"

  local pwfile sockdir
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  local -a pwargs=()
  [[ -z "${POSTGRES_PASSWORD:-}" ]] || pwargs=(--pwfile="$pwfile")
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" "${pwargs[@]}" \
    --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" ${POSTGRES_INITDB_ARGS:-} >&2
  rm -f "$pwfile"

  printf "\n# added by the airflow-k8s postgres entrypoint\nlisten_addresses = '*'\n" \
    >>"$PGDATA/postgresql.conf"

  # Private, socket-only server to create the database and run init scripts.
  sockdir="$(mktemp -d)"
  pg_ctl --pgdata="$PGDATA" --wait --silent \
    --options="-c listen_addresses='' -c unix_socket_directories='$sockdir'" start >&2
  local -a psql=(psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$sockdir"
    --username="$POSTGRES_USER")
  if [[ "$POSTGRES_DB" != postgres ]]; then
    "${psql[@]}" --dbname=postgres --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e "$f" ]] || continue
    case "$f" in
      *.sql) log "running $f"; "${psql[@]}" --dbname="$POSTGRES_DB" --file="$f" ;;
      *.sh) log "running $f"; PGHOST="$sockdir" PGUSER="$POSTGRES_USER" bash "$f" ;;
      *) log "ignoring $f" ;;
    esac
  done
  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop >&2
  rmdir "$sockdir" 2>/dev/null || true
  write_hba
  log "initialisation done"
}

if [[ -s "$PGDATA/PG_VERSION" ]]; then
  log "PGDATA=$PGDATA already holds a cluster (PostgreSQL $(<"$PGDATA/PG_VERSION")): not initialising"
  if [[ -f "$PGDATA/pg_hba.conf" ]] && [[ "$(head -c ${#HBA_MARKER} "$PGDATA/pg_hba.conf")" == "$HBA_MARKER" ]]; then
    write_hba
  fi
else
  init_cluster
fi

tls_args=()
if [[ -n "${POSTGRES_SSL_CERT_FILE:-}" || -n "${POSTGRES_SSL_KEY_FILE:-}" ]]; then
  [[ -r "${POSTGRES_SSL_CERT_FILE:-}" ]] || die "POSTGRES_SSL_CERT_FILE='${POSTGRES_SSL_CERT_FILE:-}' is not readable"
  [[ -r "${POSTGRES_SSL_KEY_FILE:-}" ]] || die "POSTGRES_SSL_KEY_FILE='${POSTGRES_SSL_KEY_FILE:-}' is not readable"
  key="$POSTGRES_SSL_KEY_FILE"
  # postgres insists on a key owned by the server's uid with mode 0600 (or root-owned 0640):
  # copy anything else (e.g. a Secret volume file) to a private place.
  if [[ ! -O "$key" || "$(stat -c %a "$key")" != 600 ]]; then
    keydir="$(mktemp -d /tmp/pg-tls.XXXXXX)"
    install -m 0600 "$key" "$keydir/server.key"
    key="$keydir/server.key"
  fi
  tls_args=(-c ssl=on -c "ssl_cert_file=$POSTGRES_SSL_CERT_FILE" -c "ssl_key_file=$key")
  if [[ -n "${POSTGRES_SSL_CA_FILE:-}" ]]; then
    tls_args+=(-c "ssl_ca_file=$POSTGRES_SSL_CA_FILE")
  fi
  log "TLS enabled (cert $POSTGRES_SSL_CERT_FILE)$([[ "$POSTGRES_SSL_ONLY" == 1 ]] && echo ', TCP clients must use TLS')"
elif [[ "$POSTGRES_SSL_ONLY" == 1 ]]; then
  die "POSTGRES_SSL_ONLY=1 needs POSTGRES_SSL_CERT_FILE and POSTGRES_SSL_KEY_FILE"
fi

exec postgres "${tls_args[@]}" "$@"
