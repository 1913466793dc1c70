#!/usr/bin/env bash
# mmdebstrap customize hook of the git-sync image: runs on the build host with the rootfs as $1.
# Inputs from tests/images/build.sh: GIT_SYNC_BINARY (the static binary built from tests/images/git-sync/*.go).
set -euo pipefail

root="$1"
: "${GIT_SYNC_BINARY:?}"

# Non-root user (the pod's securityContext usually sets its own uid; this one is for plain `docker run`).
chroot "$root" groupadd --system --gid 65533 git-sync
chroot "$root" useradd --system --uid 65533 --gid 65533 --home-dir /tmp --no-create-home \
  --shell /usr/sbin/nologin --comment "git-sync" --no-log-init git-sync

install -m 0755 "$GIT_SYNC_BINARY" "$root/usr/local/bin/git-sync"
# The synced volume is usually owned by another uid (fsGroup): let git work in it.
printf '[safe]\n\tdirectory = *\n' >"$root/etc/gitconfig"
install -d -m 1777 "$root/tmp"
install -d -o 65533 -g 65533 -m 0755 "$root/git"

rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
  "$root/var/log/apt/"* "$root/var/log/dpkg.log"
