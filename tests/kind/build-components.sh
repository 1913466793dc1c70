#!/bin/bash
# Builds every other binary the node image and the cluster need, each once and
# cached by version under ${AIRFLOW_K8S_CACHE}/bin/<name>-<version>/:
#   etcd, coredns, the CNI plugins, crictl, local-path-provisioner, kind,
#   and our own programs pause, netd and the CoreDNS main (cached by a hash of
#   their source).
# Released Go modules are built inside a throw-away main module (which also
# sidesteps their own replace directives), static with CGO_ENABLED=0.
#
# Usage: build-components.sh [NAME...]   (default: all)
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# go_build_module NAME VERSION MODULE LDFLAGS PACKAGE...
#   builds PACKAGEs of MODULE@VERSION into ${BIN_CACHE}/NAME-VERSION/.
go_build_module() {
  local name="$1" version="$2" module="$3" ldflags="$4"
  shift 4
  local out="${BIN_CACHE}/${name}-${version}"
  if [ -f "${out}/.complete" ]; then
    log "${name} ${version}: cached"
    return 0
  fi
  need_go
  local mod="${REPO_ROOT}/.work/build/${name}-${version}"
  rm -rf "${mod}" && mkdir -p "${mod}/out"
  log "${name} ${version}: go build ${*}"
  (
    cd "${mod}"
    go mod init "airflow-k8s.local/build-${name}" >/dev/null 2>&1
    go get "${module}@${version}" >/dev/null 2>&1 || go get "${module}@${version}"
    # GO_GET_EXTRA: further requirements to raise (e.g. prerelease dependencies
    # the proxy does not serve) before building.
    if [ -n "${GO_GET_EXTRA:-}" ]; then
      # shellcheck disable=SC2086 # a list of module@version words
      go get ${GO_GET_EXTRA}
    fi
    go build -trimpath -ldflags "-s -w ${ldflags}" -o "${mod}/out/" "$@"
  )
  rm -rf "${out}" && mkdir -p "$(dirname "${out}")"
  mv "${mod}/out" "${out}"
  touch "${out}/.complete"
  rm -rf "${mod}"
}

# go_build_local NAME DIR: builds our own module in DIR, cached by a source hash.
go_build_local() {
  local name="$1" dir="$2" key out
  key="$(source_hash "${dir}")"
  out="${BIN_CACHE}/${name}-${key}"
  if [ -f "${out}/.complete" ]; then
    log "${name} ${key}: cached"
    return 0
  fi
  need_go
  log "${name} ${key}: go build (our source in ${dir#"${REPO_ROOT}"/})"
  rm -rf "${out}" && mkdir -p "${out}"
  (cd "${dir}" && go build -trimpath -ldflags "-s -w" -o "${out}/${name}" .)
  touch "${out}/.complete"
}

# source_hash DIR: short hash of the files of one of our Go programs.
source_hash() {
  (cd "$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

build_etcd() {
  # kubeadm runs `etcd` in the etcd static pod; the server module's package main is the etcd binary.
  go_build_module etcd "${ETCD_VERSION}" go.etcd.io/etcd/server/v3 "" go.etcd.io/etcd/server/v3
  # (go names the binary after the package path's last element: "server")
  local dir="${BIN_CACHE}/etcd-${ETCD_VERSION}"
  [ -x "${dir}/etcd" ] || mv "${dir}/server" "${dir}/etcd"
}

build_coredns() {
  # our main (tests/kind/coredns) links only the plugins cluster DNS uses; its
  # go.mod pins github.com/coredns/coredns, which must match versions.env
  grep -q "github.com/coredns/coredns ${COREDNS_VERSION}\$" "${CLUSTER_DIR}/coredns/go.mod" ||
    die "tests/kind/coredns/go.mod does not require github.com/coredns/coredns ${COREDNS_VERSION}"
  go_build_local coredns "${CLUSTER_DIR}/coredns"
}

build_cni_plugins() {
  local p=github.com/containernetworking/plugins/plugins
  go_build_module cni-plugins "${CNI_PLUGINS_VERSION}" github.com/containernetworking/plugins \
    "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS_VERSION}" \
    "${p}/main/ptp" "${p}/main/bridge" "${p}/main/loopback" "${p}/ipam/host-local" "${p}/meta/portmap"
}

build_crictl() {
  # The checksum database has no entry for this module: skip it for this one
  # module and check the module's hash against the one pinned in versions.env.
  local sum
  sum="$(cd /tmp && GONOSUMDB=sigs.k8s.io/cri-tools go mod download -json "sigs.k8s.io/cri-tools@${CRI_TOOLS_VERSION}" | jq -r .Sum)"
  [ "${sum}" = "${CRI_TOOLS_MODULE_SUM}" ] ||
    die "sigs.k8s.io/cri-tools@${CRI_TOOLS_VERSION} has hash ${sum}, expected ${CRI_TOOLS_MODULE_SUM}"
  # cri-tools v1.34.0 requires the Kubernetes v0.34.0-rc.2 staging modules,
  # which the module proxy does not serve: build it with the released ones.
  local m extra=""
  for m in api apimachinery client-go cri-api cri-client kubectl kubelet cli-runtime component-base; do
    extra+=" k8s.io/${m}@${KUBERNETES_STAGING_VERSION}"
  done
  GO_GET_EXTRA="${extra}" GONOSUMDB=sigs.k8s.io/cri-tools go_build_module crictl "${CRI_TOOLS_VERSION}" sigs.k8s.io/cri-tools \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION}" sigs.k8s.io/cri-tools/cmd/crictl
}

build_local_path_provisioner() {
  go_build_module local-path-provisioner "${LOCAL_PATH_PROVISIONER_VERSION}" github.com/rancher/local-path-provisioner \
    "-X main.VERSION=${LOCAL_PATH_PROVISIONER_VERSION}" github.com/rancher/local-path-provisioner
}

build_kind() {
  go_build_module kind "${KIND_VERSION}" sigs.k8s.io/kind "" sigs.k8s.io/kind
}

build_pause() { go_build_local pause "${CLUSTER_DIR}/pause"; }
build_netd() { go_build_local airflow-k8s-netd "${CLUSTER_DIR}/netd"; }

ALL=(kind pause netd etcd coredns cni_plugins crictl local_path_provisioner)

main() {
  local targets=("$@") t
  [ "${#targets[@]}" -gt 0 ] || targets=("${ALL[@]}")
  for t in "${targets[@]}"; do
    "build_${t//-/_}"
  done
}

# Paths of the built binaries, for the other scripts.
component_dir() {
  case "$1" in
    pause) echo "${BIN_CACHE}/pause-$(source_hash "${CLUSTER_DIR}/pause")" ;;
    netd) echo "${BIN_CACHE}/airflow-k8s-netd-$(source_hash "${CLUSTER_DIR}/netd")" ;;
    etcd) echo "${BIN_CACHE}/etcd-${ETCD_VERSION}" ;;
    coredns) echo "${BIN_CACHE}/coredns-$(source_hash "${CLUSTER_DIR}/coredns")" ;;
    cni-plugins) echo "${BIN_CACHE}/cni-plugins-${CNI_PLUGINS_VERSION}" ;;
    crictl) echo "${BIN_CACHE}/crictl-${CRI_TOOLS_VERSION}" ;;
    local-path-provisioner) echo "${BIN_CACHE}/local-path-provisioner-${LOCAL_PATH_PROVISIONER_VERSION}" ;;
    kind) echo "${BIN_CACHE}/kind-${KIND_VERSION}" ;;
    *) die "unknown component $1" ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
