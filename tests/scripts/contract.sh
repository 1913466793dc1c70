#!/usr/bin/env bash
# make contract: the unit tests, the kubernetes.core contract test among them, against each kubernetes.core
# release pinned in tests/scripts/kubernetes_core.py (the oldest and the newest of galaxy.yml's range), each
# imported alone; then the refusal of an ansible-core older than meta/runtime.yml allows, with ansible-core
# ${OLD_CORE} in .work/venvs/ansible-core-2.18 (made once, pinned here). Seconds once cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
OLD_CORE=2.18.19   # the newest 2.18: the release below meta/runtime.yml's requires_ansible
OLD_CORE_VENV=.work/venvs/ansible-core-2.18

for version in $("${PYTHON}" tests/scripts/kubernetes_core.py versions); do
  tree="$("${PYTHON}" tests/scripts/kubernetes_core.py path "${version}")"
  echo "== unit tests against kubernetes.core ${version} (${tree})"
  AIRFLOW_K8S_KUBERNETES_CORE="${tree}" AIRFLOW_K8S_KUBERNETES_CORE_VERSION="${version}" \
    "${PYTHON}" -m pytest -q -p no:cacheprovider tests/unit -k "not ansible_core_2_18"
done

if [ "$("${OLD_CORE_VENV}/bin/python" -c 'import ansible.release as r; print(r.__version__)' 2>/dev/null)" != "${OLD_CORE}" ]; then
  rm -rf "${OLD_CORE_VENV}"
  python3 -m venv "${OLD_CORE_VENV}"
  "${OLD_CORE_VENV}/bin/pip" install -q --disable-pip-version-check "ansible-core==${OLD_CORE}"
fi
echo "== ansible-core ${OLD_CORE} is refused in words"
AIRFLOW_K8S_OLD_CORE_VENV="${OLD_CORE_VENV}" "${PYTHON}" -m pytest -q -p no:cacheprovider \
  tests/unit/plugins/plugin_utils/test_core_version.py -k ansible_core_2_18
