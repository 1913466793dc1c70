#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/<namespace>/<name>; run it on a copy of the
# files git knows about (tracked or new, not ignored), laid out that way.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.work/sanity/ansible_collections/airflow_k8s/platform"
rm -rf "$root/.work/sanity"
mkdir -p "$dest"
cd "$root"
git ls-files --cached --others --exclude-standard -z \
  | grep -zv -E '^(\.collections|extensions|tests/(benchmarks|browser|cluster|images|kind|lib|scripts|unit)|tests/[^/]+\.py)' \
  | xargs -0 -I{} cp --parents -P {} "$dest/"
# ansible-test finds a collection's dependencies beside it in the same ansible_collections tree: kube_read imports
# kubernetes.core's module_utils and extends its doc fragment. Use the copy pip installed with ansible.
k8s_core=$("$root/.venv/bin/python" -c 'import ansible_collections.kubernetes.core as c; print(list(c.__path__)[0])')
mkdir -p "$root/.work/sanity/ansible_collections/kubernetes"
cp -a "$k8s_core" "$root/.work/sanity/ansible_collections/kubernetes/core"
cd "$dest"
git init -q . && git add -A >/dev/null
python="$root/.venv/bin/python"
# ansible-test bootstraps pip in its venvs with a script from a server these machines cannot reach; use ours.
# The pip version ansible-test 2.19 pins for its venvs is 24.2 (python_requirements.get_venv_packages).
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/scripts/ansible_test_pip_bootstrap.py" "$HOME/.ansible/test/cache/get_pip_24_2.py"
exec "$root/.venv/bin/ansible-test" sanity --python "$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" \
  --local --color no "$@"
