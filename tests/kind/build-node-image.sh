#!/bin/bash
# Assembles the kind node image offline:
#   1. container images of every component kubeadm and the add-ons run, made
#      from our static binaries with `docker import` (plus a small Debian base
#      with iptables for kube-proxy and netd), named as kubeadm expects them;
#   2. a Debian bookworm (mmdebstrap, minbase) root with systemd, containerd,
#      runc, iptables ..., the Kubernetes binaries, our entrypoint, kubelet unit,
#      containerd config and /kind/{version,manifests/*};
#   3. a run of that image's containerd that imports the images of step 1,
#      then `docker commit`.
# Skipped when the node image of the current version key already exists.
#
# Prints the node image name on stdout.
# `build-node-image.sh toolbox` builds only the toolbox image (for online mode).
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/kind/build-components.sh
. "${CLUSTER_DIR}/build-components.sh"

K8S_BIN="${AIRFLOW_K8S_CACHE}/kubernetes/${KUBERNETES_VERSION}/bin"
WORK="${AIRFLOW_K8S_CACHE}/tmp/node-image"

# node_image_key: changes whenever anything that goes into the node image changes.
node_image_key() {
  (
    cd "${CLUSTER_DIR}"
    {
      cat versions.env build-node-image.sh build-components.sh
      find node netd pause coredns -type f -print0 | sort -z | xargs -0 cat
    } | sha256sum | cut -c1-12
  )
}

node_image_name() { echo "${NODE_IMAGE_REPO}:${KUBERNETES_VERSION}-$(node_image_key)"; }

# deb_spec PKG VERSION: PKG=VERSION when the mirror still serves it, else PKG
# (with a warning: Debian mirrors drop superseded point-release versions).
deb_spec() {
  if apt-cache madison "$1" 2>/dev/null | awk '{print $3}' | grep -qxF "$2"; then
    echo "$1=$2"
  else
    log "WARNING: $1 $2 is not on the mirror any more; using its current version"
    echo "$1"
  fi
}

# debian_rootfs DIR PKG...: a minbase Debian root in DIR with PKGs installed.
debian_rootfs() {
  local dir="$1" include
  shift
  include="$(IFS=,; echo "$*")"
  rm -rf "${dir}"
  mkdir -p "$(dirname "${dir}")"
  # shellcheck disable=SC2016 # "$1" in the hook is expanded by mmdebstrap
  mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
    --include="${include}" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='force-unsafe-io' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log' \
    "${DEBIAN_SUITE}" "${dir}" \
    "deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE} main" \
    "deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE}-updates main" \
    "deb ${DEBIAN_SECURITY_MIRROR} ${DEBIAN_SUITE}-security main"
}

# minimal_etc DIR: the few files a static binary's image wants.
minimal_etc() {
  mkdir -p "$1/etc" "$1/tmp"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
  printf 'hosts: files dns\n' >"$1/etc/nsswitch.conf"
}

# import_dir DIR IMAGE [--change ...]: docker import of a directory tree.
import_dir() {
  local dir="$1" image="$2"
  shift 2
  tar --numeric-owner --owner=0 --group=0 -C "${dir}" -c . |
    docker import "$@" --change "LABEL airflow-k8s.node-key=${KEY}" - "${image}" >/dev/null
  log "image ${image}"
}

# static_image IMAGE BINARY [PATH_IN_IMAGE]: a one-binary image.
static_image() {
  local image="$1" binary="$2" path="${3:-/usr/local/bin/$(basename "$2")}" dir
  dir="${WORK}/img-$(basename "${binary}")"
  rm -rf "${dir}" && mkdir -p "${dir}$(dirname "${path}")"
  minimal_etc "${dir}"
  install -m 0755 "${binary}" "${dir}${path}"
  import_dir "${dir}" "${image}" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "ENTRYPOINT [\"${path}\"]"
  rm -rf "${dir}"
}

# add_binary BASE IMAGE BINARY: BASE plus one layer holding BINARY in /usr/local/bin.
add_binary() {
  local base="$1" image="$2" binary="$3" cid name
  name="$(basename "${binary}")"
  cid="$(docker create "${base}" /bin/true)"
  docker cp "${binary}" "${cid}:/usr/local/bin/${name}"
  docker commit \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENTRYPOINT [\"/usr/local/bin/${name}\"]" --change 'CMD []' \
    "${cid}" "${image}" >/dev/null
  docker rm "${cid}" >/dev/null
  log "image ${image}"
}

build_toolbox() {
  local dir="${WORK}/toolbox" deb
  if docker image inspect "${TOOLBOX_IMAGE}" >/dev/null 2>&1; then
    log "image ${TOOLBOX_IMAGE}: cached"
    return 0
  fi
  apt_install dpkg-dev
  apt_update_once
  mkdir -p "${WORK}"
  rm -rf "${dir}" "${WORK}/debs" && mkdir -p "${dir}/bin" "${WORK}/debs"
  (cd "${WORK}/debs" && apt-get download -q -o APT::Sandbox::User=root "$(deb_spec busybox-static "${BUSYBOX_STATIC_DEB_VERSION}")" >/dev/null)
  deb="$(ls "${WORK}"/debs/busybox-static_*.deb)"
  dpkg-deb -x "${deb}" "${WORK}/debs/x"
  install -m 0755 "${WORK}/debs/x/bin/busybox" "${dir}/bin/busybox"
  local applet
  for applet in $("${dir}/bin/busybox" --list); do
    [ "${applet}" = busybox ] || ln -sf busybox "${dir}/bin/${applet}"
  done
  minimal_etc "${dir}"
  import_dir "${dir}" "${TOOLBOX_IMAGE}" \
    --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]'
  rm -rf "${dir}" "${WORK}/debs"
}

# component_images: every image the node must hold, built fresh for this key.
component_images() {
  local netbase="${NODE_IMAGE_REPO}-netbase:${KEY}"
  log "Debian base with iptables for kube-proxy and netd"
  debian_rootfs "${WORK}/netbase" "$(deb_spec iptables "${IPTABLES_DEB_VERSION}")" conntrack iproute2
  import_dir "${WORK}/netbase" "${netbase}" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  rm -rf "${WORK}/netbase"

  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    static_image "registry.k8s.io/${b}:${KUBERNETES_VERSION}" "${K8S_BIN}/${b}"
  done
  add_binary "${netbase}" "registry.k8s.io/kube-proxy:${KUBERNETES_VERSION}" "${K8S_BIN}/kube-proxy"
  add_binary "${netbase}" "${NETD_IMAGE}" "$(component_dir netd)/airflow-k8s-netd"
  static_image "registry.k8s.io/etcd:${ETCD_IMAGE_TAG}" "$(component_dir etcd)/etcd"
  static_image "registry.k8s.io/coredns/coredns:${COREDNS_VERSION}" "$(component_dir coredns)/coredns" /coredns
  static_image "registry.k8s.io/pause:${PAUSE_IMAGE_TAG}" "$(component_dir pause)/pause" /pause
  static_image "${LOCAL_PATH_PROVISIONER_IMAGE}" "$(component_dir local-path-provisioner)/local-path-provisioner"
  build_toolbox
  docker rmi "${netbase}" >/dev/null 2>&1 || true
}

# render FILE: our manifests and configs with the image names of this build.
render() {
  sed -e "s|@NETD_IMAGE@|${NETD_IMAGE}|g" \
    -e "s|@TOOLBOX_IMAGE@|${TOOLBOX_IMAGE}|g" \
    -e "s|@LOCAL_PATH_PROVISIONER_IMAGE@|${LOCAL_PATH_PROVISIONER_IMAGE}|g" \
    -e "s|@PAUSE_IMAGE_TAG@|${PAUSE_IMAGE_TAG}|g" "$1"
}

node_rootfs() {
  local root="${WORK}/node"
  log "Debian ${DEBIAN_SUITE} root for the node (systemd, containerd, runc, iptables, ...)"
  debian_rootfs "${root}" \
    "$(deb_spec systemd "${SYSTEMD_DEB_VERSION}")" systemd-sysv dbus \
    "$(deb_spec containerd "${CONTAINERD_DEB_VERSION}")" "$(deb_spec runc "${RUNC_DEB_VERSION}")" \
    "$(deb_spec iptables "${IPTABLES_DEB_VERSION}")" conntrack ethtool iproute2 socat \
    util-linux mount kmod procps ca-certificates libseccomp2 bash findutils

  # Kubernetes node binaries and tools
  install -m 0755 "${K8S_BIN}/kubeadm" "${K8S_BIN}/kubelet" "${K8S_BIN}/kubectl" "${root}/usr/bin/"
  install -m 0755 "$(component_dir crictl)/crictl" "${root}/usr/local/bin/crictl"
  mkdir -p "${root}/opt/cni/bin"
  install -m 0755 "$(component_dir cni-plugins)"/{ptp,bridge,loopback,host-local,portmap} "${root}/opt/cni/bin/"
  mkdir -p "${root}/etc/cni/net.d"

  # entrypoint, systemd units, containerd and crictl configuration
  local f
  for f in entrypoint kubelet-cgroups airflow-k8s-dns-relay; do
    install -m 0755 "${CLUSTER_DIR}/node/${f}" "${root}/usr/local/bin/${f}"
  done
  for f in kubelet.service kubelet.slice airflow-k8s-dns@.service; do
    install -m 0644 "${CLUSTER_DIR}/node/${f}" "${root}/etc/systemd/system/${f}"
  done
  install -D -m 0644 "${CLUSTER_DIR}/node/10-kubeadm.conf" "${root}/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
  mkdir -p "${root}/etc/systemd/system/multi-user.target.wants"
  ln -sf /etc/systemd/system/kubelet.service "${root}/etc/systemd/system/multi-user.target.wants/kubelet.service"
  ln -sf /lib/systemd/system/containerd.service "${root}/etc/systemd/system/multi-user.target.wants/containerd.service"
  for f in udp tcp; do
    ln -sf /etc/systemd/system/airflow-k8s-dns@.service "${root}/etc/systemd/system/multi-user.target.wants/airflow-k8s-dns@${f}.service"
  done
  # nothing to log in on, no hardware to manage, no clock to set in a container
  local unit
  for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-timesyncd.service systemd-modules-load.service systemd-remount-fs.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "${root}/etc/systemd/system/${unit}"
  done
  ln -sf /lib/systemd/system/multi-user.target "${root}/etc/systemd/system/default.target"
  render "${CLUSTER_DIR}/node/containerd-config.toml" >"${root}/etc/containerd/config.toml"
  install -m 0644 "${CLUSTER_DIR}/node/containerd-import.toml" "${root}/etc/containerd/import.toml"
  install -m 0644 "${CLUSTER_DIR}/node/crictl.yaml" "${root}/etc/crictl.yaml"
  : >"${root}/etc/machine-id"

  # kind's node-image contract
  mkdir -p "${root}/kind/manifests"
  echo "${KUBERNETES_VERSION}" >"${root}/kind/version"
  render "${CLUSTER_DIR}/node/manifests/default-cni.yaml" >"${root}/kind/manifests/default-cni.yaml"
  render "${CLUSTER_DIR}/node/manifests/default-storage.yaml" >"${root}/kind/manifests/default-storage.yaml"
  {
    echo "airflow-k8s node image ${KUBERNETES_VERSION}-${KEY}"
    sed -n 's/^\([A-Z_]*VERSION\)=/\1=/p' "${CLUSTER_DIR}/versions.env"
  } >"${root}/kind/airflow-k8s-versions"

  import_dir "${root}" "${NODE_IMAGE}-rootfs" \
    --change 'ENV container=docker' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]'
  rm -rf "${root}"
}

# import_images: run the node's containerd, import the component images, commit.
import_images() {
  local images=(
    "registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}"
    "registry.k8s.io/kube-controller-manager:${KUBERNETES_VERSION}"
    "registry.k8s.io/kube-scheduler:${KUBERNETES_VERSION}"
    "registry.k8s.io/kube-proxy:${KUBERNETES_VERSION}"
    "registry.k8s.io/etcd:${ETCD_IMAGE_TAG}"
    "registry.k8s.io/coredns/coredns:${COREDNS_VERSION}"
    "registry.k8s.io/pause:${PAUSE_IMAGE_TAG}"
    "${NETD_IMAGE}" "${LOCAL_PATH_PROVISIONER_IMAGE}" "${TOOLBOX_IMAGE}"
  )
  local cid sock=/run/containerd-import/containerd.sock i
  cid="$(docker run -d --privileged --tmpfs /run --tmpfs /tmp \
    --entrypoint /usr/bin/containerd "${NODE_IMAGE}-rootfs" --config /etc/containerd/import.toml)"
  for i in $(seq 1 60); do
    docker exec "${cid}" ctr --address "${sock}" version >/dev/null 2>&1 && break
    [ "${i}" -lt 60 ] || { docker logs "${cid}" >&2; die "containerd in the build container did not start"; }
    sleep 0.5
  done
  log "importing ${#images[@]} images into the node's containerd (namespace k8s.io)"
  # --no-unpack: the build container's root is overlayfs, on which containerd's
  # overlayfs snapshotter cannot unpack; CRI unpacks images when first used.
  docker save "${images[@]}" |
    docker exec -i "${cid}" ctr --address "${sock}" -n k8s.io images import --no-unpack -
  docker exec "${cid}" ctr --address "${sock}" -n k8s.io images ls -q >&2
  docker stop -t 30 "${cid}" >/dev/null
  docker commit \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    "${cid}" "${NODE_IMAGE}" >/dev/null
  docker rm "${cid}" >/dev/null
  docker rmi "${NODE_IMAGE}-rootfs" >/dev/null
  # the component images live on inside the node image; older node images
  # (other keys) are no longer used by up.sh (ones in use by a container stay)
  local old
  docker rmi "${images[@]:0:9}" >/dev/null 2>&1 || true
  for old in $(docker images --format '{{.Repository}}:{{.Tag}}' "${NODE_IMAGE_REPO}"); do
    [ "${old}" = "${NODE_IMAGE}" ] || docker rmi "${old}" >/dev/null 2>&1 || true
  done
  log "node image ${NODE_IMAGE} ($(docker image inspect -f '{{.Size}}' "${NODE_IMAGE}" | awk '{printf "%.0f MB", $1/1e6}'))"
}

main() {
  if [ "${1:-}" = toolbox ]; then
    KEY=toolbox
    build_toolbox
    return 0
  fi
  KEY="$(node_image_key)"
  NODE_IMAGE="$(node_image_name)"
  NETD_IMAGE="${NODE_IMAGE_REPO}-netd:${KEY}"
  export KEY NODE_IMAGE NETD_IMAGE
  if docker image inspect "${NODE_IMAGE}" >/dev/null 2>&1; then
    log "node image ${NODE_IMAGE}: cached"
    echo "${NODE_IMAGE}"
    return 0
  fi
  apt_install mmdebstrap dpkg-dev
  apt_update_once # deb_spec asks apt-cache which pinned versions the mirror serves
  [ -f "${K8S_BIN}/.complete" ] || die "Kubernetes binaries missing: run tests/kind/build-kubernetes.sh"
  rm -rf "${WORK}" && mkdir -p "${WORK}"
  component_images
  node_rootfs
  import_images
  rm -rf "${WORK}"
  echo "${NODE_IMAGE}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
