#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium and its WebDriver, pinned, for tests/browser (Selenium drives
# /usr/bin/chromium through /usr/bin/chromedriver; nothing downloads a browser of its own).
# Idempotent: when both packages are installed at the pinned version it does nothing.
#   tests/scripts/install-browser.sh            # as root (apt)
#   CHROMIUM_DEB_VERSION=... tests/scripts/install-browser.sh   # another version (e.g. after a security update)
# Debian replaces Chromium in bookworm-security with each upstream security release; when the pin is no
# longer offered, the script installs the version Debian offers then, with a warning: update the pin below.
set -euo pipefail

CHROMIUM_DEB_VERSION="${CHROMIUM_DEB_VERSION:-156.0.8078.129-1~deb12u1}"
PACKAGES=(chromium chromium-driver)

log() { printf '[install-browser %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Whether the package lists offer that version of chromium (`apt-cache show pkg=version` exits 0 either way)
offered() {
  apt-cache madison chromium 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "${CHROMIUM_DEB_VERSION}"
}

installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if [ "$(installed_version "${pkg}")" != "${CHROMIUM_DEB_VERSION}" ]; then
    missing+=("${pkg}=${CHROMIUM_DEB_VERSION}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "chromium and chromium-driver ${CHROMIUM_DEB_VERSION} already installed"
else
  [ "$(id -u)" -eq 0 ] || { log "ERROR: run as root (apt-get install ${missing[*]})"; exit 1; }
  log "apt-get install ${missing[*]}"
  # A fresh machine has empty package lists; a stale list may not offer the pinned version yet.
  if ! offered; then
    apt-get update -qq
  fi
  if ! offered; then
    # Debian keeps only the current security release and snapshot.debian.org is not reachable from every machine:
    # the pin cannot be had any more. Take what Debian offers now (both packages from the same version, so browser
    # and driver still agree), say so, and let the run go on rather than fail every browser test on a mirror change.
    candidate="$(apt-cache policy chromium | sed -n 's/^ *Candidate: //p')"
    [ -n "${candidate}" ] && [ "${candidate}" != "(none)" ] || { log "ERROR: Debian offers no chromium package"; exit 1; }
    log "WARNING: Debian no longer offers chromium ${CHROMIUM_DEB_VERSION} (it keeps only the current security"
    log "release); installing ${candidate} instead. Update CHROMIUM_DEB_VERSION in tests/scripts/install-browser.sh."
    CHROMIUM_DEB_VERSION="${candidate}"
    missing=()
    for pkg in "${PACKAGES[@]}"; do
      [ "$(installed_version "${pkg}")" = "${CHROMIUM_DEB_VERSION}" ] || missing+=("${pkg}=${CHROMIUM_DEB_VERSION}")
    done
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
    "${missing[@]}" >/dev/null
fi

# Both binaries must exist and agree on the version (Selenium refuses a mismatched driver).
browser="$(/usr/bin/chromium --version)"
driver="$(/usr/bin/chromedriver --version)"
log "${browser} / ${driver}"
[ "$(awk '{print $2}' <<<"${browser}")" = "$(awk '{print $2}' <<<"${driver}")" ] || {
  log "ERROR: chromium and chromedriver versions differ"
  exit 1
}
