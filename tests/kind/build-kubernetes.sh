#!/bin/bash
# Builds the Kubernetes binaries of ${KUBERNETES_VERSION} from the Go module proxy,
# static (CGO_ENABLED=0), once: the result is cached under
#   ${AIRFLOW_K8S_CACHE}/kubernetes/${KUBERNETES_VERSION}/bin/
# and the build is skipped when that directory is complete.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...)
# as v0.0.0 and replaces them with ./staging/... in its own go.mod, which only
# counts for the main module. So we build inside a throw-away main module that
# requires k8s.io/kubernetes at the tag and replaces every k8s.io/<staging> v0.0.0
# with its published v0.<minor>.<patch>.
set -euo pipefail
# shellcheck source=tests/kind/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S_OUT="${AIRFLOW_K8S_CACHE}/kubernetes/${KUBERNETES_VERSION}/bin"
K8S_BINARIES=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

complete() {
  local b
  [ -f "${K8S_OUT}/.complete" ] || return 1
  for b in "${K8S_BINARIES[@]}"; do [ -x "${K8S_OUT}/${b}" ] || return 1; done
}

main() {
  if complete; then
    log "kubernetes ${KUBERNETES_VERSION} binaries cached in ${K8S_OUT}"
    return 0
  fi
  need_go
  local mod="${REPO_ROOT}/.work/build/kubernetes-${KUBERNETES_VERSION}"
  rm -rf "${mod}"
  mkdir -p "${mod}"
  cd "${mod}"

  log "preparing throw-away module for k8s.io/kubernetes@${KUBERNETES_VERSION}"
  go mod init airflow-k8s.local/kubernetes-build >/dev/null 2>&1
  go mod edit -require "k8s.io/kubernetes@${KUBERNETES_VERSION}"
  local gomod info
  gomod="$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | jq -r .GoMod)"
  info="$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | jq -r .Info)"
  # Same language version and GODEBUG defaults as upstream's own go.mod.
  go mod edit -go "$(awk '$1 == "go" {print $2; exit}' "${gomod}")"
  local staging
  while read -r staging; do
    go mod edit -replace "${staging}=${staging}@${KUBERNETES_STAGING_VERSION}"
  done < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "${gomod}")

  local minor major build_date commit
  major="${KUBERNETES_VERSION#v}"; major="${major%%.*}"
  minor="${KUBERNETES_VERSION#v*.}"; minor="${minor%%.*}"
  build_date="$(jq -r .Time "${info}")"
  commit="${KUBERNETES_GIT_COMMIT}"
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION}"
    ldflags+=" -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    ldflags+=" -X ${pkg}.gitCommit=${commit} -X ${pkg}.gitTreeState=clean"
    ldflags+=" -X ${pkg}.buildDate=${build_date}"
  done

  local pkgs=()
  for pkg in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${pkg}"); done
  log "go build ${K8S_BINARIES[*]} (measured cold on 2 cores: ~7 min)"
  mkdir -p "${mod}/out"
  go build -trimpath -tags notest,grpcnotrace -ldflags "${ldflags}" -o "${mod}/out/" "${pkgs[@]}"

  mkdir -p "$(dirname "${K8S_OUT}")"
  rm -rf "${K8S_OUT}.tmp" && mv "${mod}/out" "${K8S_OUT}.tmp"
  rm -rf "${K8S_OUT}" && mv "${K8S_OUT}.tmp" "${K8S_OUT}"
  touch "${K8S_OUT}/.complete"
  "${K8S_OUT}/kubeadm" version -o short
  log "kubernetes binaries in ${K8S_OUT}"
}

main "$@"
