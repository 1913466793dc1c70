#!/usr/bin/env bash
# mmdebstrap customize hook of the Postgres image: runs on the build host with the rootfs as $1
# (/proc, /sys, /dev, resolv.conf and the apt lists are set up inside). The postgres user and
# group (999:999) are created BEFORE the package is installed, so the package adopts them.
# Inputs from tests/images/build.sh: IMAGES_DIR, POSTGRES_MAJOR, POSTGRES_PKG_SPEC (name[=version] list).
set -euo pipefail

root="$1"
: "${IMAGES_DIR:?}" "${POSTGRES_MAJOR:?}" "${POSTGRES_PKG_SPEC:?}"

chroot "$root" groupadd --system --gid 999 postgres
chroot "$root" useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql \
  --no-create-home --shell /bin/bash --comment "PostgreSQL administrator" --no-log-init postgres

# Debian's postgresql-common would create a "main" cluster under /var/lib/postgresql/15/main;
# the entrypoint runs initdb on PGDATA instead.
mkdir -p "$root/etc/postgresql-common"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"

# shellcheck disable=SC2086 # POSTGRES_PKG_SPEC is a space-separated package list
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
  apt-get install --yes --quiet=2 --no-install-recommends $POSTGRES_PKG_SPEC >"$root/tmp/apt.log" 2>&1 ||
  { tail -n 40 "$root/tmp/apt.log" >&2; exit 1; }
grep -E '^(Setting up postgresql|Unpacking postgresql-1)' "$root/tmp/apt.log" >&2 || true
rm -f "$root/tmp/apt.log"

uid="$(chroot "$root" id -u postgres):$(chroot "$root" id -g postgres)"
[[ "$uid" == "999:999" ]] || { echo "postgres user is $uid, expected 999:999" >&2; exit 1; }

# /var/lib/postgresql is usually a volume (PVC): PGDATA is created below it at first start.
install -d -o 999 -g 999 -m 0755 "$root/var/lib/postgresql"
install -d -o 999 -g 999 -m 0700 "$root/var/lib/postgresql/data"
install -d -m 0755 "$root/docker-entrypoint-initdb.d"

install -m 0755 "$IMAGES_DIR/postgres/entrypoint.sh" "$root/entrypoint"

rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/log/apt/"* "$root/var/log/dpkg.log"
