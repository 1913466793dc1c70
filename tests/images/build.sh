#!/usr/bin/env bash
# Build (or reuse) the container images the test cluster runs, and record their references in
# <repo>/.work/images.env as AIRFLOW_IMAGE=..., POSTGRES_IMAGE=..., GIT_SYNC_IMAGE=... and
# GIT_SERVER_IMAGE=... (the last two serve the git-sync Molecule scenario), STATSD_EXPORTER_IMAGE=... (the
# statsd exporter of airflow_core_statsd, built from its Go module) and S3_SERVER_IMAGE=... (moto from PyPI, the
# S3-compatible server of the remote logging test). `airflow-previous` builds
# the previous Airflow release (AIRFLOW_PREVIOUS_VERSION) for the upgrade scenario, recorded as
# AIRFLOW_PREVIOUS_IMAGE; `all` does not build it.
#
# Usage: tests/images/build.sh [airflow|airflow-previous|postgres|git-sync|git-server|statsd-exporter|s3-server|all]
#        (default: all)
#
# Offline (no container registry reachable, the normal case here): each image is a Debian
# bookworm rootfs made with mmdebstrap (minbase), customised in a chroot and `docker import`ed.
# Tags are <version>-<hash8 of the inputs>; a build is skipped when that tag already exists.
# Online (a registry answers): the upstream images are pulled instead (the git server, a test
# fixture with no upstream image, and the S3 server are built from Debian in both cases).
#
# Environment:
#   AIRFLOW_K8S_OFFLINE=1|0   force offline build (1) or upstream pull (0); default: probe
#   AIRFLOW_K8S_CACHE         cache root (default /var/cache/airflow-k8s); work dirs in .../images
#   AIRFLOW_K8S_DEB_PINS=0    ignore the exact Debian versions of tests/images/versions.env
#   AIRFLOW_K8S_REGISTRY_PROBE  URL probed to detect a registry (default https://registry-1.docker.io/v2/)
#   BUILD_CA_BUNDLE           CA bundle pip trusts during the build (default: the host's)
# Needs root, the Docker engine and curl; installs mmdebstrap with apt-get when missing.
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$IMAGES_DIR/../.." && pwd)"
ENV_FILE="$REPO_ROOT/.work/images.env"
WORK="${AIRFLOW_K8S_CACHE:-/var/cache/airflow-k8s}/images"
export IMAGES_DIR

# shellcheck source=versions.env
source "$IMAGES_DIR/versions.env"

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run_stage NAME COMMAND...: print the stage, run it, print its duration.
run_stage() {
  local name="$1" t0
  shift
  t0="$(now)"
  log "stage $name: start"
  "$@"
  log "stage $name: done in $(elapsed "$t0")s"
}

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------- helpers

# mmdebstrap comes from Debian; a fresh machine may not have it yet.
need_mmdebstrap() {
  command -v mmdebstrap >/dev/null && return
  log "installing mmdebstrap (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

need_docker() {
  docker info >/dev/null 2>&1 ||
    die "the Docker engine is not reachable (docker info fails); start it first (tests/kind/docker.sh)"
}

# Is a container registry reachable? AIRFLOW_K8S_OFFLINE overrides the probe.
registry_reachable() {
  case "${AIRFLOW_K8S_OFFLINE:-}" in
    1) return 1 ;;
    0) return 0 ;;
    "") ;;
    *) die "AIRFLOW_K8S_OFFLINE must be 1, 0 or unset" ;;
  esac
  local url="${AIRFLOW_K8S_REGISTRY_PROBE:-https://registry-1.docker.io/v2/}" code
  # Any HTTP answer (a registry says 401 to anonymous /v2/) means reachable.
  code="$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 5 "$url" 2>/dev/null)" || true
  [[ -n "$code" && "$code" != 000 ]]
}

# Short hash of an image's inputs: this script, versions.env and every file of tests/images/<dir>/
# except documentation and the files given (paths relative to tests/images/, e.g. the other lock).
inputs_hash() {
  local dir="$1" f
  shift
  local skip=(! -name '*.md')
  for f in "$@"; do skip+=(! -path "$f"); done
  (
    cd "$IMAGES_DIR"
    { printf '%s\n' build.sh versions.env; find "$dir" -type f "${skip[@]}" | LC_ALL=C sort; } |
      xargs sha256sum
  ) | sha256sum | cut -c1-8
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# prune_images REF NAME: untag older builds of image NAME in REF's repository (ours only); one still
# used by a container stays. Each build carries the label airflow-k8s.image=NAME, since two images
# (airflow, airflow-previous) share a repository. Images without that label predate it, when each
# repository held one image: any image but airflow-previous may untag them.
prune_images() {
  local ref="$1" name="$2" old owner
  docker image ls --format '{{.Repository}}:{{.Tag}}' "${ref%:*}" | while read -r old; do
    [[ "$old" == "$ref" ]] && continue
    owner="$(docker image inspect -f '{{index .Config.Labels "airflow-k8s.image"}}' "$old" 2>/dev/null)" || continue
    [[ "$owner" != "<no value>" ]] || owner=""
    [[ "$owner" == "$name" || (-z "$owner" && "$name" != airflow-previous) ]] || continue
    if docker rmi "$old" >/dev/null 2>&1; then log "removed older image $old"; fi
  done
}

# Set KEY=VALUE in the images.env file, keeping other lines.
record() {
  local key="$1" value="$2" tmp
  mkdir -p "$(dirname "$ENV_FILE")"
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  if [[ -f "$ENV_FILE" ]]; then grep -v "^$key=" "$ENV_FILE" >"$tmp" || true; fi
  echo "$key=$value" >>"$tmp"
  LC_ALL=C sort -o "$tmp" "$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

# pkg[=version] for Debian packages pinned in versions.env (unless AIRFLOW_K8S_DEB_PINS=0).
pin() {
  if [[ "${AIRFLOW_K8S_DEB_PINS:-1}" == 0 ]]; then echo "$1"; else echo "$1=$2"; fi
}

# debian_rootfs ROOTFS_DIR PACKAGES(comma-separated) HOOK [AFTER]: a Debian minbase rootfs made by
# mmdebstrap, customised by HOOK (run with the rootfs dir as $1 before mmdebstrap's cleanup),
# then by the command AFTER ROOTFS_DIR (after the cleanup, which empties /run and /tmp).
debian_rootfs() {
  local dir="$1" include="$2" hook="$3" after="${4:-}"
  need_mmdebstrap
  rm -rf "$dir"
  mmdebstrap --mode=root --variant=minbase --format=directory --quiet \
    --components=main \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --include="$include" \
    --customize-hook="$hook" \
    "$DEBIAN_SUITE" "$dir" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main"
  if [[ -n "$after" ]]; then "$after" "$dir"; fi
  touch "$dir.complete"
}

# docker_import ROOTFS_DIR REF --change ...: one-layer image from the rootfs.
docker_import() {
  local dir="$1" ref="$2"
  shift 2
  tar --numeric-owner --xattrs -C "$dir" -c . | docker import "$@" - "$ref" >/dev/null
}

# Remove rootfs dirs of older input hashes of this image (<name>-<hash8>.rootfs: airflow-* must not
# match airflow-previous-*).
prune_rootfs() {
  local name="$1" keep="$2" d
  for d in "$WORK/$name"-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f].rootfs; do
    [[ -e "$d" && "$d" != "$keep" ]] || continue
    log "removing stale $d"
    rm -rf "$d" "$d.complete"
  done
}

# ---------------------------------------------------------------- airflow

# Two Airflow images from the same recipe: the release the cluster runs and the previous one (the
# upgrade scenario). Same repository, tag <version>-<hash8>; each hash leaves out the other's lock.
build_airflow() {
  build_airflow_release airflow AIRFLOW_IMAGE "$AIRFLOW_VERSION" requirements.lock requirements-previous.lock
}

build_airflow_previous() {
  build_airflow_release airflow-previous AIRFLOW_PREVIOUS_IMAGE "$AIRFLOW_PREVIOUS_VERSION" \
    requirements-previous.lock requirements.lock
}

# build_airflow_release NAME KEY VERSION LOCK OTHER_LOCK (locks in tests/images/airflow/)
build_airflow_release() {
  local name="$1" key="$2" version="$3" lock="$4" other="$5" hash ref dir
  # The lock must pin the version of versions.env (lock.sh derives it from there).
  grep -q "^apache-airflow==$version " "$IMAGES_DIR/airflow/$lock" ||
    die "$name: airflow/$lock does not pin apache-airflow==$version (versions.env); run tests/images/airflow/lock.sh"
  hash="$(inputs_hash airflow "airflow/$other")"
  ref="$IMAGE_PREFIX/airflow:$version-$hash"
  if image_exists "$ref"; then
    log "$name: $ref exists, skipping build"
    record "$key" "$ref"
    return
  fi
  dir="$WORK/$name-$hash.rootfs"
  prune_rootfs "$name" "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "$name: reusing rootfs $dir"
  else
    local include
    include="$(pin python3 "$PYTHON3_DEB_VERSION"),$(pin python3.11 "$PYTHON311_DEB_VERSION")"
    include+=",$(pin python3-venv "$PYTHON3_DEB_VERSION"),ca-certificates,dumb-init,git,tar"
    # read by airflow/customize.sh; one wheelhouse for both images (most wheels are the same)
    export WHEELHOUSE="$WORK/wheels" AIRFLOW_LOCK_FILE="$IMAGES_DIR/airflow/$lock"
    run_stage "$name rootfs (mmdebstrap + pip from $lock)" \
      debian_rootfs "$dir" "$include" "$IMAGES_DIR/airflow/customize.sh"
  fi
  run_stage "$name docker import" docker_import "$dir" "$ref" \
    --change 'ENV PATH=/home/airflow/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV AIRFLOW_HOME=/opt/airflow' \
    --change 'ENV AIRFLOW_USER_HOME_DIR=/home/airflow' \
    --change 'ENV HOME=/home/airflow' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change "ENV AIRFLOW_VERSION=$version" \
    --change 'USER 50000' \
    --change 'WORKDIR /opt/airflow' \
    --change 'EXPOSE 8080' \
    --change 'ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]' \
    --change 'CMD ["version"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-airflow org.opencontainers.image.version=$version airflow-k8s.inputs-hash=$hash airflow-k8s.image=$name"
  run_stage "$name smoke test" smoke_airflow "$ref" "$version"
  record "$key" "$ref"
  prune_images "$ref" "$name"
  log "$name: built $ref"
}

smoke_airflow() {
  local got
  got="$(docker run --rm "$1" airflow version 2>/dev/null | tail -n1)"
  [[ "$got" == "$2" ]] || die "airflow version in $1 printed '$got', expected $2"
}

# ---------------------------------------------------------------- postgres

build_postgres() {
  local hash ref dir version
  hash="$(inputs_hash postgres)"
  version="${POSTGRESQL_DEB_VERSION%%-*}" # 15.20-0+deb12u1 -> 15.20
  [[ "${AIRFLOW_K8S_DEB_PINS:-1}" != 0 ]] || version="$POSTGRES_MAJOR"
  ref="$IMAGE_PREFIX/postgres:$version-$hash"
  if image_exists "$ref"; then
    log "postgres: $ref exists, skipping build"
    record POSTGRES_IMAGE "$ref"
    return
  fi
  dir="$WORK/postgres-$hash.rootfs"
  prune_rootfs postgres "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "postgres: reusing rootfs $dir"
  else
    local pkgs
    pkgs="$(pin "postgresql-$POSTGRES_MAJOR" "$POSTGRESQL_DEB_VERSION")"
    pkgs+=" $(pin "postgresql-client-$POSTGRES_MAJOR" "$POSTGRESQL_DEB_VERSION")"
    export POSTGRES_MAJOR POSTGRES_PKG_SPEC="$pkgs" # read by postgres/customize.sh
    run_stage "postgres rootfs (mmdebstrap + postgresql-$POSTGRES_MAJOR)" \
      debian_rootfs "$dir" "ca-certificates,tzdata" "$IMAGES_DIR/postgres/customize.sh" postgres_run_dir
  fi
  run_stage "postgres docker import" docker_import "$dir" "$ref" \
    --change "ENV PATH=/usr/lib/postgresql/$POSTGRES_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV PG_MAJOR=$POSTGRES_MAJOR" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'USER 999' \
    --change 'WORKDIR /var/lib/postgresql' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/entrypoint"]' \
    --change 'CMD ["postgres"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-postgres org.opencontainers.image.version=$version airflow-k8s.inputs-hash=$hash airflow-k8s.image=postgres"
  run_stage "postgres smoke test" smoke_postgres "$ref"
  record POSTGRES_IMAGE "$ref"
  prune_images "$ref" postgres
  log "postgres: built $ref"
}

# Unix socket directory (mmdebstrap's cleanup empties /run): writable by any uid (sticky, setgid),
# so that a uid other than 999 still works.
postgres_run_dir() {
  install -d -o 999 -g 999 -m 3777 "$1/run/postgresql"
}

smoke_postgres() {
  docker run --rm --entrypoint postgres "$1" --version | grep -q "PostgreSQL) $POSTGRES_MAJOR\." ||
    die "postgres --version in $1 is not $POSTGRES_MAJOR.x"
}

# ---------------------------------------------------------------- git-sync

# Our git-sync compatible program (tests/images/git-sync/*.go, Go standard library only), built with the
# Go toolchain the cluster scripts use (tests/kind/lib.sh: need_go), static.
build_git_sync_binary() {
  local out="$1"
  (
    # shellcheck source=../kind/lib.sh
    source "$IMAGES_DIR/../kind/lib.sh"
    need_go
    cd "$IMAGES_DIR/git-sync"
    go build -trimpath -ldflags "-s -w -X main.version=$GIT_SYNC_COMPAT_VERSION" -o "$out" .
  )
}

build_git_sync() {
  local hash ref dir
  hash="$(inputs_hash git-sync)"
  ref="$IMAGE_PREFIX/git-sync-compat:$GIT_SYNC_COMPAT_VERSION-$hash"
  if image_exists "$ref"; then
    log "git-sync: $ref exists, skipping build"
    record GIT_SYNC_IMAGE "$ref"
    return
  fi
  dir="$WORK/git-sync-$hash.rootfs"
  prune_rootfs git-sync "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "git-sync: reusing rootfs $dir"
  else
    export GIT_SYNC_BINARY="$WORK/git-sync-$hash.bin" # read by git-sync/customize.sh
    run_stage "git-sync go build" build_git_sync_binary "$GIT_SYNC_BINARY"
    run_stage "git-sync rootfs (mmdebstrap + git)" debian_rootfs "$dir" \
      "$(pin git "$GIT_DEB_VERSION"),$(pin openssh-client "$OPENSSH_CLIENT_DEB_VERSION"),ca-certificates" \
      "$IMAGES_DIR/git-sync/customize.sh"
    rm -f "$GIT_SYNC_BINARY"
  fi
  run_stage "git-sync docker import" docker_import "$dir" "$ref" \
    --change 'ENV HOME=/tmp' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'USER 65533:65533' \
    --change 'WORKDIR /tmp' \
    --change 'ENTRYPOINT ["/usr/local/bin/git-sync"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-git-sync-compat org.opencontainers.image.version=$GIT_SYNC_COMPAT_VERSION airflow-k8s.inputs-hash=$hash airflow-k8s.image=git-sync"
  run_stage "git-sync smoke test" smoke_git_sync "$ref"
  record GIT_SYNC_IMAGE "$ref"
  prune_images "$ref" git-sync
  log "git-sync: built $ref"
}

# A one-time sync of a repository made inside the container, as the image's own non-root user.
smoke_git_sync() {
  local got
  got="$(docker run --rm "$1" --version)"
  [[ "$got" == "$GIT_SYNC_COMPAT_VERSION" ]] || die "git-sync --version in $1 printed '$got'"
  docker run --rm --cap-drop ALL --security-opt no-new-privileges --entrypoint /bin/sh "$1" -ec '
    export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
    git init -q --bare -b main /tmp/up.git && git init -q -b main /tmp/w && mkdir /tmp/w/dags
    echo x >/tmp/w/dags/a.py && git -C /tmp/w add . && git -C /tmp/w commit -qm seed
    git -C /tmp/w push -q /tmp/up.git main
    git-sync --repo=file:///tmp/up.git --ref=main --root=/git --link=repo --one-time
    test "$(cat /git/repo/dags/a.py)" = x' >/dev/null ||
    die "git-sync in $1 did not sync a local repository"
}

# ---------------------------------------------------------------- git server (test fixture)

build_git_server() {
  local hash ref dir version
  hash="$(inputs_hash git-server)"
  version="${GIT_DEB_VERSION#*:}" # 1:2.39.5-0+deb12u3 -> 2.39.5
  ref="$IMAGE_PREFIX/git-server:${version%%-*}-$hash"
  if image_exists "$ref"; then
    log "git-server: $ref exists, skipping build"
    record GIT_SERVER_IMAGE "$ref"
    return
  fi
  dir="$WORK/git-server-$hash.rootfs"
  prune_rootfs git-server "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "git-server: reusing rootfs $dir"
  else
    run_stage "git-server rootfs (mmdebstrap + git)" debian_rootfs "$dir" \
      "$(pin git "$GIT_DEB_VERSION")" "$IMAGES_DIR/git-server/customize.sh"
  fi
  run_stage "git-server docker import" docker_import "$dir" "$ref" \
    --change 'ENV HOME=/tmp' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'USER 10001:10001' \
    --change 'WORKDIR /srv/git' \
    --change 'EXPOSE 9418' \
    --change 'ENTRYPOINT ["/usr/local/bin/git-server"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-git-server airflow-k8s.inputs-hash=$hash airflow-k8s.image=git-server"
  run_stage "git-server smoke test" smoke_git_server "$ref"
  record GIT_SERVER_IMAGE "$ref"
  prune_images "$ref" git-server
  log "git-server: built $ref"
}

# Start it with a seed file, push a second file through the daemon, read both back over git://.
smoke_git_server() {
  local name="airflow-k8s-git-server-smoke-$$" rc=0
  docker run -d --name "$name" --cap-drop ALL --security-opt no-new-privileges \
    -e GIT_SERVER_SEED_DIR=/usr/share/doc/git -e GIT_SERVER_SEED_PATH=seed "$1" >/dev/null
  docker exec -i "$name" /bin/sh -ec '
    i=0; until git ls-remote -q git://127.0.0.1/dags.git main >/dev/null 2>&1; do
      i=$((i + 1)); [ "$i" -lt 50 ] || exit 1; sleep 0.2; done
    echo pushed | git-push-file dags/new.py >/dev/null
    git clone -q git://127.0.0.1/dags.git /tmp/check
    test -f /tmp/check/seed/copyright && test "$(cat /tmp/check/dags/new.py)" = pushed' >/dev/null || rc=$?
  [[ "$rc" == 0 ]] || docker logs "$name" >&2 || true
  docker rm -f "$name" >/dev/null
  [[ "$rc" == 0 ]] || die "git server in $1 failed its smoke test"
}

# ---------------------------------------------------------------- statsd exporter

# The Go module github.com/prometheus/statsd_exporter at STATSD_EXPORTER_VERSION, built static (CGO off) with the Go
# toolchain the cluster scripts use (tests/kind/lib.sh: need_go) and the Go module proxy. The image holds the binary,
# passwd/group (nobody 65534) and an empty /tmp: no Debian rootfs, so a cold build is the go build (~35 s with an
# empty module and build cache) and a one-second import.
build_statsd_exporter_binary() {
  local out="$1" v="$STATSD_EXPORTER_VERSION"
  (
    # shellcheck source=../kind/lib.sh
    source "$IMAGES_DIR/../kind/lib.sh"
    need_go
    local bin
    bin="$(mktemp -d)"
    CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN="$bin" go install -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Revision=v$v -X github.com/prometheus/common/version.Branch=v$v -X github.com/prometheus/common/version.BuildUser=airflow-k8s" \
      "github.com/prometheus/statsd_exporter@v$v"
    install -D -m 0755 "$bin/statsd_exporter" "$out"
    rm -rf "$bin"
  )
}

statsd_exporter_rootfs() {
  local dir="$1" bin="$2"
  rm -rf "$dir"
  install -d -m 0755 "$dir/bin" "$dir/etc"
  install -d -m 1777 "$dir/tmp"
  install -m 0755 "$bin" "$dir/bin/statsd_exporter"
  install -m 0644 "$IMAGES_DIR/statsd-exporter/passwd" "$dir/etc/passwd"
  install -m 0644 "$IMAGES_DIR/statsd-exporter/group" "$dir/etc/group"
  touch "$dir.complete"
}

build_statsd_exporter() {
  local hash ref dir
  hash="$(inputs_hash statsd-exporter)"
  ref="$IMAGE_PREFIX/statsd-exporter:$STATSD_EXPORTER_VERSION-$hash"
  if image_exists "$ref"; then
    log "statsd-exporter: $ref exists, skipping build"
    record STATSD_EXPORTER_IMAGE "$ref"
    return
  fi
  dir="$WORK/statsd-exporter-$hash.rootfs"
  prune_rootfs statsd-exporter "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "statsd-exporter: reusing rootfs $dir"
  else
    local bin="$WORK/statsd-exporter-$hash.bin"
    run_stage "statsd-exporter go build (v$STATSD_EXPORTER_VERSION)" build_statsd_exporter_binary "$bin"
    statsd_exporter_rootfs "$dir" "$bin"
    rm -f "$bin"
  fi
  run_stage "statsd-exporter docker import" docker_import "$dir" "$ref" \
    --change 'USER 65534:65534' \
    --change 'WORKDIR /tmp' \
    --change 'EXPOSE 9102 9125 9125/udp' \
    --change 'ENTRYPOINT ["/bin/statsd_exporter"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-statsd-exporter org.opencontainers.image.version=$STATSD_EXPORTER_VERSION airflow-k8s.inputs-hash=$hash airflow-k8s.image=statsd-exporter"
  run_stage "statsd-exporter smoke test" smoke_statsd_exporter "$ref"
  record STATSD_EXPORTER_IMAGE "$ref"
  prune_images "$ref" statsd-exporter
  log "statsd-exporter: built $ref"
}

# --version, then a real exchange as the image's own user with no capabilities: a mapping file that makes a label of a
# name part, one statsd line over UDP from this host, and the mapped sample read back from /metrics.
smoke_statsd_exporter() {
  local got name="airflow-k8s-statsd-smoke-$$" ip rc=0 i metrics="" cfg
  got="$(docker run --rm "$1" --version 2>&1 | head -n1)"
  [[ "$got" == *"version $STATSD_EXPORTER_VERSION "* ]] || die "statsd_exporter --version in $1 printed '$got'"
  cfg="$(mktemp -d)"
  printf 'mappings:\n  - match: smoke.*.hits\n    name: smoke_hits\n    labels: {dag_id: "$1"}\n' >"$cfg/mapping.yml"
  chmod 0755 "$cfg" && chmod 0644 "$cfg/mapping.yml"
  docker run -d --name "$name" --cap-drop ALL --security-opt no-new-privileges -v "$cfg:/cfg:ro" "$1" \
    --statsd.mapping-config=/cfg/mapping.yml >/dev/null
  ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name")"
  for i in $(seq 1 50); do
    if [[ -n "$ip" ]] && curl -fsS -m 2 "http://$ip:9102/metrics" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  printf 'smoke.my_dag.hits:3|c\n' >"/dev/udp/$ip/9125" || rc=$?
  for i in $(seq 1 25); do
    metrics="$(curl -fsS -m 2 "http://$ip:9102/metrics" 2>/dev/null)" || true
    grep -q '^smoke_hits{dag_id="my_dag"} 3$' <<<"$metrics" && break
    sleep 0.2
  done
  grep -q '^smoke_hits{dag_id="my_dag"} 3$' <<<"$metrics" || rc=1
  [[ "$rc" == 0 ]] || docker logs "$name" >&2 || true
  docker rm -f "$name" >/dev/null
  rm -rf "$cfg"
  [[ "$rc" == 0 ]] || die "statsd exporter in $1 failed its smoke test (no smoke_hits{dag_id=\"my_dag\"} 3 on /metrics)"
}

# ---------------------------------------------------------------- S3 server (test fixture)

# moto in server mode (S3 only) from the hash-pinned s3-server/requirements.lock, in a venv of Debian's python3.11;
# the wheels come from the Airflow images' wheelhouse. Tagged with moto's version.
build_s3_server() {
  local hash ref dir version
  version="$(sed -n 's/^moto==\([^ ]*\) .*/\1/p' "$IMAGES_DIR/s3-server/requirements.lock")"
  [[ -n "$version" ]] || die "s3-server: s3-server/requirements.lock pins no moto version; run tests/images/s3-server/lock.sh"
  hash="$(inputs_hash s3-server)"
  ref="$IMAGE_PREFIX/s3-server:$version-$hash"
  if image_exists "$ref"; then
    log "s3-server: $ref exists, skipping build"
    record S3_SERVER_IMAGE "$ref"
    return
  fi
  dir="$WORK/s3-server-$hash.rootfs"
  prune_rootfs s3-server "$dir"
  if [[ -e "$dir.complete" ]]; then
    log "s3-server: reusing rootfs $dir"
  else
    export WHEELHOUSE="$WORK/wheels" # read by s3-server/customize.sh
    run_stage "s3-server rootfs (mmdebstrap + moto $version)" debian_rootfs "$dir" \
      "$(pin python3 "$PYTHON3_DEB_VERSION"),$(pin python3.11 "$PYTHON311_DEB_VERSION"),$(pin python3-venv "$PYTHON3_DEB_VERSION")" \
      "$IMAGES_DIR/s3-server/customize.sh"
  fi
  run_stage "s3-server docker import" docker_import "$dir" "$ref" \
    --change 'ENV HOME=/tmp' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change 'USER 10002:10002' \
    --change 'WORKDIR /tmp' \
    --change 'EXPOSE 5000' \
    --change 'ENTRYPOINT ["/usr/local/bin/s3-server"]' \
    --change "LABEL org.opencontainers.image.title=airflow-k8s-s3-server org.opencontainers.image.version=$version airflow-k8s.inputs-hash=$hash airflow-k8s.image=s3-server"
  run_stage "s3-server smoke test" smoke_s3_server "$ref"
  record S3_SERVER_IMAGE "$ref"
  prune_images "$ref" s3-server
  log "s3-server: built $ref"
}

# Start it with a bucket, as its own user without capabilities; put an object into the bucket over the S3 API (boto3
# inside the container, path-style addressing, as boto3 does to a custom endpoint) through a host name, as pods reach
# it through a Service name (moto would take a name's first label for the bucket), and read it back.
smoke_s3_server() {
  local name="airflow-k8s-s3-server-smoke-$$" rc=0
  docker run -d --name "$name" --hostname s3-smoke.test.svc --cap-drop ALL --security-opt no-new-privileges \
    -e S3_SERVER_BUCKETS=smoke "$1" >/dev/null
  docker exec -i "$name" /opt/moto/bin/python - >/dev/null <<'PY' || rc=$?
import time, boto3, botocore.config
s3 = boto3.client("s3", endpoint_url="http://s3-smoke.test.svc:5000", region_name="us-east-1", aws_access_key_id="k",
                  aws_secret_access_key="s", config=botocore.config.Config(s3={"addressing_style": "path"}))
for _ in range(150):
    try:
        s3.head_bucket(Bucket="smoke")
        break
    except Exception:
        time.sleep(0.2)
s3.put_object(Bucket="smoke", Key="a/b.log", Body=b"smoke")
assert s3.get_object(Bucket="smoke", Key="a/b.log")["Body"].read() == b"smoke"
assert [o["Key"] for o in s3.list_objects_v2(Bucket="smoke")["Contents"]] == ["a/b.log"]
PY
  [[ "$rc" == 0 ]] || docker logs "$name" >&2 || true
  docker rm -f "$name" >/dev/null
  [[ "$rc" == 0 ]] || die "S3 server in $1 failed its smoke test"
}

# ---------------------------------------------------------------- upstream (online)

pull_upstream() {
  local name="$1" ref key
  case "$name" in
    airflow) ref="$UPSTREAM_AIRFLOW_IMAGE" key=AIRFLOW_IMAGE ;;
    airflow-previous) ref="$UPSTREAM_AIRFLOW_PREVIOUS_IMAGE" key=AIRFLOW_PREVIOUS_IMAGE ;;
    postgres) ref="$UPSTREAM_POSTGRES_IMAGE" key=POSTGRES_IMAGE ;;
    git-sync) ref="$UPSTREAM_GIT_SYNC_IMAGE" key=GIT_SYNC_IMAGE ;;
    statsd-exporter) ref="$UPSTREAM_STATSD_EXPORTER_IMAGE" key=STATSD_EXPORTER_IMAGE ;;
    git-server) build_git_server; return ;; # no upstream image: built from Debian either way
    s3-server) build_s3_server; return ;;   # a test fixture of ours: built from Debian and PyPI either way
  esac
  if image_exists "$ref"; then
    log "$name: $ref present"
  else
    run_stage "$name pull $ref" docker pull --quiet "$ref"
  fi
  record "$key" "$ref"
}

# ---------------------------------------------------------------- main

main() {
  local target="${1:-all}" t0 names
  case "$target" in
    airflow | airflow-previous | postgres | git-sync | git-server | statsd-exporter | s3-server) names=("$target") ;;
    all) names=(airflow postgres git-sync git-server statsd-exporter s3-server) ;;
    -h | --help) usage; return 0 ;;
    *) usage >&2; die "unknown target '$target'" ;;
  esac
  [[ "$(id -u)" == 0 ]] || die "run as root (mmdebstrap --mode=root, chroot, docker)"
  need_docker
  mkdir -p "$WORK"
  exec 9>"$WORK/.build.lock"
  flock 9 # one build at a time per cache dir

  t0="$(now)"
  if registry_reachable; then
    log "a container registry is reachable (or AIRFLOW_K8S_OFFLINE=0): pulling upstream images"
    for n in "${names[@]}"; do pull_upstream "$n"; done
  else
    log "no container registry reachable (or AIRFLOW_K8S_OFFLINE=1): building from Debian $DEBIAN_SUITE"
    for n in "${names[@]}"; do "build_${n//-/_}"; done
  fi
  log "all done in $(elapsed "$t0")s; references in $ENV_FILE:"
  sed 's/^/[images]   /' "$ENV_FILE" >&2
}

main "$@"
