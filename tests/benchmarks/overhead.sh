#!/usr/bin/env bash
# The floor under a no-op run: what Ansible itself costs on this machine, measured with tiny playbooks
# against the kind cluster (same inventory, interpreter and kubeconfig as site.yml):
#   startup     ansible-playbook with one play and no task
#   per_task    one more trivial task (ansible.builtin.assert), from a play of 50
#   k8s_info    one kubernetes.core.k8s_info read (its first module run in the playbook: payload build,
#               Python start, Kubernetes client import, API discovery from the cache, one GET)
#   k8s_info_2  a second read in the same playbook
#   k8s_apply   one unchanged server-side apply of a ConfigMap (kubernetes.core.k8s, apply: true)
# Each is the median of --runs runs (default 3); seconds, printed as JSON (and written to --out).
# Usage: tests/benchmarks/overhead.sh [--runs N] [--out FILE]
set -euo pipefail
. "$(cd "$(dirname "$0")/../kind" && pwd)/lib.sh"
cd "${REPO_ROOT}"
. tests/scripts/env.sh
runs=3 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--out FILE]" >&2; exit 2 ;;
  esac
done
work=.work/overhead
mkdir -p "${work}"
play() {  # play NAME TASKS_YAML: a playbook on the inventory's airflow group, no facts
  { printf -- '---\n- name: overhead %s\n  hosts: airflow\n  gather_facts: false\n  tasks:\n' "$1"; printf '%s' "$2"; } \
    > "${work}/$1.yml"
}
read_task='    - name: Read a namespace
      kubernetes.core.k8s_info: {kind: Namespace, name: kube-system}
'
apply_task='    - name: Apply a ConfigMap
      kubernetes.core.k8s:
        apply: true
        server_side_apply: {field_manager: airflow-k8s-overhead}
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: airflow-k8s-overhead, namespace: default},
                     data: {a: b}}
'
play startup '    []
'
sed -i 's/^  tasks:$/  tasks:/' "${work}/startup.yml"
asserts=""
for i in $(seq 1 50); do asserts+="    - name: Assert ${i}
      ansible.builtin.assert: {that: [true], quiet: true}
"; done
play tasks50 "${asserts}"
play k8s_info "${read_task}"
play k8s_info_2 "${read_task}${read_task}"
play k8s_apply "${apply_task}"
ansible-playbook -i inventories/local "${work}/k8s_apply.yml" > /dev/null  # the ConfigMap exists: later applies are no-ops

seconds() {  # wall time of one playbook run
  local t0 t1
  t0=${EPOCHREALTIME/,/.}
  ansible-playbook -i inventories/local "${work}/$1.yml" > "${work}/$1.log" 2>&1 || { cat "${work}/$1.log" >&2; exit 1; }
  t1=${EPOCHREALTIME/,/.}
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A med
for name in startup tasks50 k8s_info k8s_info_2 k8s_apply; do
  vals=()
  for _ in $(seq 1 "${runs}"); do vals+=("$(seconds "${name}")"); done
  med[$name]=$(median "${vals[@]}")
  echo "[overhead] ${name}: ${vals[*]} -> median ${med[$name]} s" >&2
done
kubectl delete configmap -n default airflow-k8s-overhead --ignore-not-found > /dev/null
json=$(awk -v s="${med[startup]}" -v t="${med[tasks50]}" -v r="${med[k8s_info]}" -v r2="${med[k8s_info_2]}" \
  -v a="${med[k8s_apply]}" -v n="${runs}" 'BEGIN {
  printf "{\n  \"runs\": %d,\n  \"startup_seconds\": %.2f,\n  \"per_task_seconds\": %.3f,\n", n, s, (t - s) / 50
  printf "  \"k8s_info_seconds\": %.2f,\n  \"k8s_info_second_seconds\": %.2f,\n  \"k8s_apply_unchanged_seconds\": %.2f\n}\n", r - s, r2 - r, a - s }')
printf '%s\n' "${json}"
[ -z "${out}" ] || printf '%s\n' "${json}" > "${out}"
