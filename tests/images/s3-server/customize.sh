#!/usr/bin/env bash
# mmdebstrap customize hook of the S3 server image (a test fixture): runs on the build host with the rootfs as $1,
# after the Debian packages are installed. Inputs from tests/images/build.sh: IMAGES_DIR, WHEELHOUSE (host
# directory shared with the Airflow images), BUILD_CA_BUNDLE (optional, default the build host's CA bundle).
set -euo pipefail

root="$1"
: "${IMAGES_DIR:?}" "${WHEELHOUSE:?}"
venv=/opt/moto

chroot "$root" groupadd --system --gid 10002 s3
chroot "$root" useradd --system --uid 10002 --gid 10002 --home-dir /tmp --no-create-home \
  --shell /usr/sbin/nologin --comment "S3 server" --no-log-init s3

# moto and its HTTP server from the hash-pinned lock, wheels only, into a venv of Debian's python3.11; the wheels
# come from the wheelhouse of the Airflow images (downloaded there when missing), as in airflow/customize.sh.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 python3 -m venv "$venv"
install -m 0644 "$IMAGES_DIR/s3-server/requirements.lock" "$root/tmp/requirements.lock"
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
  echo "s3-server: downloading the wheels of s3-server/requirements.lock into $WHEELHOUSE" >&2
  pip_in_root download --quiet --dest /tmp/wheels
  install_offline
fi
umount "$root/tmp/wheels"
trap - EXIT
rmdir "$root/tmp/wheels"
rm -f "$root/tmp/requirements.lock" "$root/tmp/build-ca.crt"

install -m 0755 "$IMAGES_DIR/s3-server/entrypoint.sh" "$root/usr/local/bin/s3-server"
install -d -m 1777 "$root/tmp"

rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/log/apt/"* "$root/var/log/dpkg.log" "$root/root/.cache"
