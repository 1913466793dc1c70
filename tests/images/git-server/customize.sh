#!/usr/bin/env bash
# mmdebstrap customize hook of the git server image: runs on the build host with the rootfs as $1.
# Inputs from tests/images/build.sh: IMAGES_DIR.
set -euo pipefail

root="$1"
: "${IMAGES_DIR:?}"

chroot "$root" groupadd --system --gid 10001 git
chroot "$root" useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
  --shell /usr/sbin/nologin --comment "git server" --no-log-init git

install -m 0755 "$IMAGES_DIR/git-server/entrypoint.sh" "$root/usr/local/bin/git-server"
install -m 0755 "$IMAGES_DIR/git-server/push-file.sh" "$root/usr/local/bin/git-push-file"
# Repositories live on a volume whose owner may differ from the running uid.
printf '[safe]\n\tdirectory = *\n[init]\n\tdefaultBranch = main\n' >"$root/etc/gitconfig"
install -d -m 1777 "$root/tmp"
install -d -o 10001 -g 10001 -m 0775 "$root/srv/git"

rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/log/apt/"* "$root/var/log/dpkg.log"
