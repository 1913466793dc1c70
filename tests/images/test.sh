#!/usr/bin/env bash
# Verify the images recorded in <repo>/.work/images.env (written by tests/images/build.sh).
#
# Usage: tests/images/test.sh [airflow|postgres|all|airflow-previous|upgrade]     (default: all)
#   airflow-previous  the airflow checks on AIRFLOW_PREVIOUS_IMAGE (tests/images/build.sh airflow-previous)
#   upgrade           one Postgres database migrated by AIRFLOW_PREVIOUS_IMAGE, then by AIRFLOW_IMAGE
#
# Needs the Docker engine and openssl on the host. Creates throw-away containers, volumes and
# networks named airflow-k8s-imgtest-<pid>-*, removed on exit. Prints PASS/FAIL per check and
# ends with "N passed, N failed"; exits non-zero when a check failed. VERBOSE=1 also shows the
# output of passing checks.
# shellcheck disable=SC2016 # single-quoted commands are expanded inside the containers
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="$IMAGES_DIR/../../.work/images.env"
[[ -f "$ENV_FILE" ]] || { echo "no $ENV_FILE: run tests/images/build.sh first" >&2; exit 2; }
# shellcheck source=/dev/null
source "$ENV_FILE"
# shellcheck source=versions.env
source "$IMAGES_DIR/versions.env"

target="${1:-all}"
prefix="airflow-k8s-imgtest-$$"
tmp="$(mktemp -d)"
passed=0 failed=0
containers=() volumes=() networks=()

cleanup() {
  local c v n
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1 || true; done
  for n in "${networks[@]}"; do docker network rm "$n" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# check NAME COMMAND...: run COMMAND (output to a log), record PASS/FAIL with its duration.
check() {
  local name="$1" t0 log
  shift
  log="$tmp/check-$((passed + failed)).log"
  t0="$(now)"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'PASS %-62s %6.1fs\n' "$name" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b-a}')"
    if [[ -n "${VERBOSE:-}" ]]; then sed 's/^/     | /' "$log" | tail -n 10; fi
  else
    failed=$((failed + 1))
    printf 'FAIL %-62s %6.1fs\n' "$name" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b-a}')"
    sed 's/^/     | /' "$log" | tail -n 40
  fi
}

# Restricted-like run options: non-root uid, no capabilities, no privilege escalation.
RESTRICTED=(--cap-drop ALL --security-opt no-new-privileges)

# ------------------------------------------------------------------ airflow

af() { docker run --rm "${RESTRICTED[@]}" "$AIRFLOW_IMAGE" "$@"; }

expect_eq() { # expect_eq EXPECTED COMMAND...: last output line of COMMAND equals EXPECTED
  local want="$1" got
  shift
  got="$("$@" | tail -n1)"
  echo "got: '$got', want: '$want'"
  [[ "$got" == "$want" ]]
}

af_migrate_and_health() {
  af bash -c '
    set -e
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:////tmp/a.db
    airflow db migrate >/tmp/migrate.log 2>&1 || { tail -n 30 /tmp/migrate.log; exit 1; }
    tail -n 2 /tmp/migrate.log
    airflow api-server --port 8080 >/tmp/api.log 2>&1 &
    for _ in $(seq 1 90); do
      if python -c "import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:8080/api/v2/monitor/health\", timeout=3).read().decode())"; then
        exit 0
      fi
      sleep 2
    done
    tail -n 40 /tmp/api.log
    exit 1'
}

af_db_wait_gives_up() {
  # No DB at that address: the entrypoint must retry CONNECTION_CHECK_MAX_COUNT times, then fail.
  local out
  if out="$(docker run --rm -e CONNECTION_CHECK_MAX_COUNT=2 -e CONNECTION_CHECK_SLEEP_TIME=1 \
    -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql://u:p@127.0.0.1:1/db \
    "$AIRFLOW_IMAGE" db check-migrations 2>&1)"; then
    echo "$out"; return 1
  fi
  echo "$out" | tail -n 5
  grep -q 'not reachable yet (sqlalchemy, try 2/2)' <<<"$out"
}

test_airflow() {
  echo "== airflow image $AIRFLOW_IMAGE"
  check "airflow version prints $AIRFLOW_VERSION" expect_eq "$AIRFLOW_VERSION" af airflow version
  check "default CMD prints the version" expect_eq "$AIRFLOW_VERSION" af
  check "subcommand form: 'version' -> airflow version" expect_eq "$AIRFLOW_VERSION" af version
  check "uid:gid is 50000:0, user airflow" expect_eq "50000:0:airflow" af sh -c 'echo "$(id -u):$(id -g):$(id -un)"'
  check "AIRFLOW_HOME=/opt/airflow, HOME=/home/airflow, cwd /opt/airflow" \
    expect_eq "/opt/airflow /home/airflow /opt/airflow" af sh -c 'echo "$AIRFLOW_HOME $HOME $(pwd)"'
  check "/opt/airflow{,/dags,/logs} owned 50000:0, group-writable" \
    expect_eq "50000:0:775 50000:0:775 50000:0:775" \
    af sh -c 'stat -c %u:%g:%a /opt/airflow /opt/airflow/dags /opt/airflow/logs | xargs'
  check "providers cncf.kubernetes and postgres import" \
    af python -c "import airflow.providers.cncf.kubernetes, airflow.providers.postgres, psycopg2; print('ok')"
  check "the statsd client ([metrics] statsd_on) imports" af python -c "import statsd; print(statsd.StatsClient)"
  check "provider versions" af sh -c 'pip list 2>/dev/null | grep -E "^apache-airflow-providers-(cncf-kubernetes|postgres) "'
  check "tar, git, dumb-init present" af sh -c 'tar --version | head -1 && git --version && /usr/bin/dumb-init --version'
  check "python is Debian's 3.11" expect_eq "/usr/bin/python3.11" af python -c 'import os,sys; print(os.path.realpath(sys.executable))'
  check "worker entry point (python -m ...execute_workload --help)" \
    af python -m airflow.sdk.execution_time.execute_workload --help
  check "entrypoint waits CONNECTION_CHECK_MAX_COUNT times, then fails" af_db_wait_gives_up
  check "db migrate (SQLite) + api-server /api/v2/monitor/health" af_migrate_and_health
  check "no compiler in the image" af sh -c '! command -v gcc && ! command -v cc'
  check "image size below 1 GB" sh -c "s=\$(docker image inspect -f '{{.Size}}' '$AIRFLOW_IMAGE'); echo \$((s/1000000)) MB; [ \$s -lt 1000000000 ]"
}

# ------------------------------------------------------------------ postgres

pg_start() { # pg_start NAME docker-run-args...: start a postgres container named $prefix-NAME
  local name="$prefix-$1"
  shift
  containers+=("$name")
  docker run -d --name "$name" "${RESTRICTED[@]}" "$@" "$POSTGRES_IMAGE" >/dev/null
}

pg_wait_ready() { # pg_wait_ready NAME: wait until the real server accepts TCP connections
  local name="$prefix-$1"
  for _ in $(seq 1 60); do
    if docker exec "$name" pg_isready -h 127.0.0.1 -p 5432 -q; then
      docker exec "$name" pg_isready -h 127.0.0.1 -p 5432
      return 0
    fi
    if [[ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]]; then break; fi
    sleep 1
  done
  docker logs "$name" 2>&1 | tail -n 30
  return 1
}

pg_sql() { # pg_sql NAME CONNINFO SQL: run SQL over TCP from inside the container
  docker exec "$prefix-$1" psql -X -v ON_ERROR_STOP=1 -At "$2" -c "$3"
}

test_postgres() {
  echo "== postgres image $POSTGRES_IMAGE"
  local vol="$prefix-data" fsg="$tmp/fsgroup-volume" tls="$tmp/tls"
  volumes+=("$vol" "$prefix-tlsdata")

  check "postgres user is 999:999, runs as 999" \
    expect_eq "999:999 999" docker run --rm "$POSTGRES_IMAGE" sh -c 'echo "$(id -u postgres):$(id -g postgres) $(id -u)"'
  check "psql and pg_isready on PATH, postgres $POSTGRES_MAJOR" \
    docker run --rm "$POSTGRES_IMAGE" sh -c "command -v psql pg_isready initdb && postgres --version | grep ' $POSTGRES_MAJOR\.'"
  check "refuses to initialise without POSTGRES_PASSWORD" \
    sh -c "out=\$(docker run --rm '$POSTGRES_IMAGE' 2>&1); rc=\$?; echo \"\$out\"; [ \$rc -ne 0 ] && echo \"\$out\" | grep -q POSTGRES_PASSWORD"

  pg_start db -v "$vol:/var/lib/postgresql" -e POSTGRES_USER=airflow -e POSTGRES_PASSWORD='s3cr%t pw' -e POSTGRES_DB=airflowdb
  check "first start initialises and becomes ready (pg_isready)" pg_wait_ready db
  check "password login over TCP (scram-sha-256), create data" \
    pg_sql db "host=127.0.0.1 user=airflow dbname=airflowdb password='s3cr%t pw' sslmode=disable" \
    "CREATE TABLE keep(x text); INSERT INTO keep VALUES ('persisted'); SELECT current_user, current_database()"
  check "wrong password is rejected over TCP" \
    sh -c "out=\$(docker exec '$prefix-db' psql -X -At 'host=127.0.0.1 user=airflow dbname=airflowdb password=wrong sslmode=disable' -c 'select 1' 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q 'password authentication failed'"
  check "listens on all addresses, scram-sha-256 hba" expect_eq "*|scram-sha-256" \
    pg_sql db "host=127.0.0.1 user=airflow dbname=airflowdb password='s3cr%t pw'" \
    "SELECT current_setting('listen_addresses'), (SELECT auth_method FROM pg_hba_file_rules WHERE type='host' LIMIT 1)"
  docker rm -f "$prefix-db" >/dev/null
  pg_start db2 -v "$vol:/var/lib/postgresql" -e POSTGRES_USER=airflow -e POSTGRES_DB=airflowdb
  check "restart on the same data: ready, no re-init (no password needed)" pg_wait_ready db2
  check "restart: data persisted" expect_eq "persisted" \
    pg_sql db2 "host=127.0.0.1 user=airflow dbname=airflowdb password='s3cr%t pw'" "SELECT x FROM keep"
  check "restart: log says not initialising" sh -c "docker logs '$prefix-db2' 2>&1 | grep 'not initialising' && ! docker logs '$prefix-db2' 2>&1 | grep -q 'initialising a new cluster'"

  # Pod-Security-restricted-like: volume dir owned root:999 mode 2775 (what fsGroup 999 gives),
  # mounted at the parent of PGDATA, uid 999 with supplementary group 999, no capabilities.
  mkdir -p "$fsg"
  chown 0:999 "$fsg"
  chmod 2775 "$fsg"
  pg_start fsg --user 999:999 --group-add 999 -v "$fsg:/var/lib/postgresql" -e POSTGRES_PASSWORD=pw
  check "fsGroup-style volume at the parent of PGDATA: init + ready" pg_wait_ready fsg
  check "fsGroup-style: PGDATA owned 999 mode 700" expect_eq "999:700" stat -c %u:%a "$fsg/data"

  # Started as root (plain docker run --user 0): prepares PGDATA, then runs postgres as 999.
  containers+=("$prefix-root")
  docker run -d --name "$prefix-root" --user 0 -e POSTGRES_PASSWORD=pw "$POSTGRES_IMAGE" >/dev/null
  check "started as root: initialises and becomes ready" pg_wait_ready root
  check "started as root: postgres runs as uid 999" expect_eq "999" \
    docker exec "$prefix-root" sh -c "awk '/^Uid:/ {print \$2}' /proc/1/status"

  # TLS: our own CA and a server certificate for localhost; the key mounted world-readable and
  # root-owned (as a Secret volume would be), so the entrypoint must copy it.
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=imgtest-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/tls.key" -out "$tls/tls.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tls/ext"
  openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/ext" -out "$tls/tls.crt" >/dev/null 2>&1
  chmod 0644 "$tls/tls.key" "$tls/tls.crt" "$tls/ca.crt"
  pg_start tls -v "$prefix-tlsdata:/var/lib/postgresql" -v "$tls:/tls:ro" -e POSTGRES_PASSWORD=pw \
    -e POSTGRES_SSL_CERT_FILE=/tls/tls.crt -e POSTGRES_SSL_KEY_FILE=/tls/tls.key -e POSTGRES_SSL_ONLY=1
  check "TLS: ready with a root-owned 0644 key (copied to a private file)" pg_wait_ready tls
  check "TLS: verify-full connection with our CA uses TLS" expect_eq "t" \
    pg_sql tls "host=localhost user=postgres password=pw sslmode=verify-full sslrootcert=/tls/ca.crt" \
    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
  check "TLS-only: non-TLS TCP connection rejected" \
    sh -c "out=\$(docker exec '$prefix-tls' psql -X -At 'host=127.0.0.1 user=postgres password=pw sslmode=disable' -c 'select 1' 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q 'rejects connection.*no encryption'"
  # Same data, TLS on but not required: pg_hba is regenerated, both kinds of connection work.
  docker rm -f "$prefix-tls" >/dev/null
  pg_start tls2 -v "$prefix-tlsdata:/var/lib/postgresql" -v "$tls:/tls:ro" \
    -e POSTGRES_SSL_CERT_FILE=/tls/tls.crt -e POSTGRES_SSL_KEY_FILE=/tls/tls.key
  check "TLS optional: restart on the same data, ready" pg_wait_ready tls2
  check "TLS optional: TLS and plain connections both accepted" expect_eq "t f" sh -c "
    a=\$(docker exec '$prefix-tls2' psql -X -At 'host=localhost user=postgres password=pw sslmode=verify-full sslrootcert=/tls/ca.crt' -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()') &&
    b=\$(docker exec '$prefix-tls2' psql -X -At 'host=127.0.0.1 user=postgres password=pw sslmode=disable' -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()') &&
    echo \"\$a \$b\""
}

# ------------------------------------------------------------------ both

test_together() {
  echo "== airflow against postgres"
  networks+=("$prefix-net")
  docker network create "$prefix-net" >/dev/null
  volumes+=("$prefix-afdata")
  pg_start afdb --network "$prefix-net" --network-alias pg -v "$prefix-afdata:/var/lib/postgresql" \
    -e POSTGRES_USER=airflow -e POSTGRES_PASSWORD=pw -e POSTGRES_DB=airflow
  check "postgres for airflow ready" pg_wait_ready afdb
  check "airflow db migrate on postgres (psycopg2), restricted-like" \
    docker run --rm "${RESTRICTED[@]}" --network "$prefix-net" \
    -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:pw@pg:5432/airflow \
    -e CONNECTION_CHECK_MAX_COUNT=5 "$AIRFLOW_IMAGE" bash -c 'airflow db migrate >/tmp/m.log 2>&1 || { tail -30 /tmp/m.log; exit 1; }; airflow db check-migrations --migration-wait-timeout=5 && airflow db check'
  check "entrypoint's DB wait passes through the SQLAlchemy probe, then the command runs" \
    sh -c "out=\$(docker run --rm ${RESTRICTED[*]} --network '$prefix-net' \
      -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:pw@pg:5432/airflow \
      -e CONNECTION_CHECK_MAX_COUNT=3 '$AIRFLOW_IMAGE' db check-migrations --migration-wait-timeout=5 2>&1); rc=\$?;
      echo \"\$out\" | tail -n 3; [ \$rc = 0 ] && echo \"\$out\" | grep -q 'database reachable (sqlalchemy, try 1/3)'"
  check "entrypoint: with engine arguments configured the DB wait uses airflow db check" \
    sh -c "out=\$(docker run --rm ${RESTRICTED[*]} --network '$prefix-net' \
      -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:pw@pg:5432/airflow \
      -e 'AIRFLOW__DATABASE__SQL_ALCHEMY_ENGINE_ARGS={\"pool_pre_ping\": true}' \
      -e CONNECTION_CHECK_MAX_COUNT=3 '$AIRFLOW_IMAGE' db check-migrations --migration-wait-timeout=5 2>&1); rc=\$?;
      echo \"\$out\" | tail -n 3; [ \$rc = 0 ] && echo \"\$out\" | grep -q 'database reachable (airflow db check, try 1/3)'"
}

# ------------------------------------------------------------------ upgrade (previous -> current release)

# af_on NET IMAGE ARGS...: an airflow container on network NET, database pg:5432/airflow.
af_on() {
  local net="$1" image="$2"
  shift 2
  docker run --rm "${RESTRICTED[@]}" --network "$net" -e CONNECTION_CHECK_MAX_COUNT=5 \
    -e AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:pw@pg:5432/airflow "$image" "$@"
}

alembic_revision() {
  pg_sql updb "host=127.0.0.1 user=airflow dbname=airflow password=pw" "SELECT version_num FROM alembic_version"
}

# expect_fail PATTERN COMMAND...: COMMAND fails and its output matches PATTERN (grep -E).
expect_fail() {
  local pattern="$1" out rc=0
  shift
  out="$("$@" 2>&1)" || rc=$?
  echo "$out" | tail -n 3
  [[ "$rc" != 0 ]] && grep -qE "$pattern" <<<"$out"
}

test_upgrade() {
  local net="$prefix-upnet" old new
  echo "== upgrade: $AIRFLOW_PREVIOUS_IMAGE -> $AIRFLOW_IMAGE on one database"
  networks+=("$net")
  volumes+=("$prefix-updata")
  docker network create "$net" >/dev/null
  pg_start updb --network "$net" --network-alias pg -v "$prefix-updata:/var/lib/postgresql" \
    -e POSTGRES_USER=airflow -e POSTGRES_PASSWORD=pw -e POSTGRES_DB=airflow
  check "postgres for the upgrade ready" pg_wait_ready updb
  check "$AIRFLOW_PREVIOUS_VERSION: db migrate + check-migrations" af_on "$net" "$AIRFLOW_PREVIOUS_IMAGE" bash -c \
    'airflow db migrate >/tmp/m.log 2>&1 || { tail -30 /tmp/m.log; exit 1; }; airflow db check-migrations --migration-wait-timeout=5'
  old="$(alembic_revision 2>&1)" || true
  check "$AIRFLOW_PREVIOUS_VERSION: alembic revision recorded ($old)" grep -qE '^[0-9a-f]{12}$' <<<"$old"
  check "$AIRFLOW_VERSION: check-migrations fails on the $AIRFLOW_PREVIOUS_VERSION schema" \
    expect_fail "unapplied migrations.*'$old'" af_on "$net" "$AIRFLOW_IMAGE" db check-migrations --migration-wait-timeout=3
  check "$AIRFLOW_VERSION: db migrate (the upgrade) + check-migrations" af_on "$net" "$AIRFLOW_IMAGE" bash -c \
    'airflow db migrate >/tmp/m.log 2>&1 || { tail -30 /tmp/m.log; exit 1; }; airflow db check-migrations --migration-wait-timeout=5'
  new="$(alembic_revision 2>&1)" || true
  check "$AIRFLOW_VERSION: alembic revision moved ($old -> $new)" \
    sh -c "echo '$new' | grep -qE '^[0-9a-f]{12}\$' && [ '$new' != '$old' ]"
  check "$AIRFLOW_PREVIOUS_VERSION: db migrate refused on the $AIRFLOW_VERSION schema" \
    expect_fail "Can't locate revision identified by '$new'" af_on "$net" "$AIRFLOW_PREVIOUS_IMAGE" db migrate
  check "revision unchanged after the refused downgrade" expect_eq "$new" alembic_revision
}

need_previous() {
  [[ -n "${AIRFLOW_PREVIOUS_IMAGE:-}" ]] ||
    { echo "no AIRFLOW_PREVIOUS_IMAGE in $ENV_FILE: run tests/images/build.sh airflow-previous first" >&2; exit 2; }
}

case "$target" in
  airflow) test_airflow ;;
  postgres) test_postgres ;;
  all) test_airflow; test_postgres; test_together ;;
  airflow-previous)
    need_previous
    AIRFLOW_IMAGE="$AIRFLOW_PREVIOUS_IMAGE" AIRFLOW_VERSION="$AIRFLOW_PREVIOUS_VERSION"
    test_airflow
    ;;
  upgrade) need_previous; test_upgrade ;;
  *) echo "usage: $0 [airflow|postgres|all|airflow-previous|upgrade]" >&2; exit 2 ;;
esac

echo "images: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
