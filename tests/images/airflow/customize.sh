#!/usr/bin/env bash
# mmdebstrap customize hook of the Airflow image: runs on the build host with the rootfs as $1,
# after the Debian packages are installed (/proc, /sys, /dev and resolv.conf are set up inside).
# Inputs from tests/images/build.sh: IMAGES_DIR (tests/images/ of the repo), WHEELHOUSE (host directory),
# AIRFLOW_LOCK_FILE (the hashed lock to install: airflow/requirements.lock or requirements-previous.lock),
# BUILD_CA_BUNDLE (optional, default /etc/ssl/certs/ca-certificates.crt of the build host).
set -euo pipefail

root="$1"
: "${IMAGES_DIR:?}" "${WHEELHOUSE:?}" "${AIRFLOW_LOCK_FILE:?}"
venv=/home/airflow/.local

# User airflow: uid 50000, primary group root (gid 0), like the official image, so that an
# arbitrary uid with gid 0 (OpenShift-style) can still write everything group-writable.
chroot "$root" /usr/sbin/useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home \
  --shell /bin/bash --no-log-init airflow

# Python virtualenv from Debian's python3.11, filled only from the hash-pinned lock, wheels only.
# Wheels are kept in a wheelhouse on the build host (pip's HTTP cache is useless behind a proxy
# that strips Cache-Control): install offline from it; if a wheel is missing, download what the
# lock lists (pip skips files already there) and install again. pip runs with a clean environment
# (no PIP_* settings of the build host leak in) but trusts the build host's CA bundle (which may
# hold a TLS-intercepting proxy's CA); that bundle is used only during the build.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 python3 -m venv "$venv"
install -m 0644 "$AIRFLOW_LOCK_FILE" "$root/tmp/requirements.lock"
host_ca="${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -r "$host_ca" ]] || host_ca="$root/etc/ssl/certs/ca-certificates.crt"
install -m 0644 "$host_ca" "$root/tmp/build-ca.crt"
mkdir -p "$WHEELHOUSE" "$root/tmp/wheels"
mount --bind "$WHEELHOUSE" "$root/tmp/wheels"
trap 'umount "$root/tmp/wheels"' EXIT
pip_in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/tmp/build-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    PIP_DEFAULT_TIMEOUT=120 PIP_NO_CACHE_DIR=1 \
    "$venv/bin/pip" "$@" --no-deps --require-hashes --only-binary :all: -r /tmp/requirements.lock
}
install_offline() { pip_in_root install --quiet --no-index --find-links /tmp/wheels; }
if ! install_offline 2>/dev/null; then
  echo "airflow: downloading the wheels of ${AIRFLOW_LOCK_FILE##*/} into $WHEELHOUSE" >&2
  pip_in_root download --quiet --dest /tmp/wheels
  install_offline
fi
umount "$root/tmp/wheels"
trap - EXIT
rmdir "$root/tmp/wheels"
rm -f "$root/tmp/requirements.lock" "$root/tmp/build-ca.crt"

# AIRFLOW_HOME and its usual subdirectories: owned 50000:0 and group-writable.
install -d -o 50000 -g 0 -m 0775 "$root/opt/airflow" "$root/opt/airflow/dags" \
  "$root/opt/airflow/logs" "$root/opt/airflow/plugins"
chown -R 50000:0 "$root/home/airflow"
chmod -R g+rwX "$root/home/airflow"
chmod 0775 "$root/home/airflow"

install -m 0755 "$IMAGES_DIR/airflow/entrypoint.sh" "$root/entrypoint"

# Keep the image lean: no apt lists/caches, docs or man pages (copyright files stay).
rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/log/apt/"* "$root/var/log/dpkg.log" "$root/root/.cache"
