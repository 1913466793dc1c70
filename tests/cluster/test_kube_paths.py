"""kube_apply and kube_read give the same answers in-process and through the kubernetes.core modules.

The actions make their API calls in ansible-playbook's process (plugins/plugin_utils/kube_local.py) unless
AIRFLOW_K8S_KUBE_MODULES=1 (or become, a task environment, another connection) sends them through the
kubernetes.core modules. One playbook runs the same steps on the same objects once per path, each in its own
namespace: a first apply (with a wait), an unchanged re-apply, a change shown with --diff, a change in check mode,
reads with kube_read (by name, by label, a missing object, an API the cluster does not serve), the deletion of a
switched-off object (twice), and Deployments that Pod Security's `warn` level (the namespace's label) objects to.
The registered results must agree step by step once the namespace name and the fields the API server sets
(uid, resourceVersion, timestamps, managedFields, cluster IPs) are left out; the Pod Security warning must be
in the play output on both paths (but see warned_several below).

When tests/scripts/kubernetes_core.py has cached kubernetes.core trees (tests/scripts/contract.sh does), the
comparison also runs with each of them on ANSIBLE_COLLECTIONS_PATH, so both paths are compared on the oldest and
the newest kubernetes.core 6.x too.

    KUBECONFIG=.work/kubeconfig python -m pytest tests/cluster/test_kube_paths.py -v
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from test_smoke import TOOLBOX_IMAGE, kubectl
from test_smoke import cluster  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TREES = REPO / ".work" / "kubernetes.core"
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or str(REPO / ".venv" / "bin" / "ansible-playbook")


def _labels(component: str) -> dict:
    return {"app.kubernetes.io/name": "kube-paths", "app.kubernetes.io/component": component}


def objects(ns: str, setting: str, with_secret: bool = True) -> list[dict]:
    """The objects of the scenario; `setting` is the value that changes from step to step."""
    restricted = {"runAsNonRoot": True, "runAsUser": 65534, "allowPrivilegeEscalation": False,
                  "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    found = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/warn": "restricted",
                                             "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "paths", "namespace": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "paths-config", "namespace": ns, "labels": _labels("config")},
         "data": {"setting": setting, "fixed": "same"}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "paths", "namespace": ns, "labels": _labels("service")},
         "spec": {"selector": _labels("worker"), "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "paths-worker", "namespace": ns, "labels": _labels("worker")},
         "spec": {"replicas": 0, "selector": {"matchLabels": _labels("worker")},
                  "template": {"metadata": {"labels": _labels("worker"), "annotations": {"setting": setting}},
                               "spec": {"serviceAccountName": "paths", "automountServiceAccountToken": False,
                                        "containers": [{"name": "worker", "image": TOOLBOX_IMAGE,
                                                        "command": ["sleep", "3600"],
                                                        "securityContext": restricted}]}}}},
    ]
    if with_secret:
        found.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "paths-switched-off",
                                                                          "namespace": ns},
                      "stringData": {"token": "not-a-secret"}})
    return found


def warned(ns: str, violations: str) -> dict:
    """A Deployment whose pod template Pod Security `restricted` refuses: the API server admits the Deployment
    (enforce applies to pods; it has no replicas) and answers with a `warn` warning. With violations="one" the
    warning names one rule; with "several" it lists them, separated by ", "."""
    security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}} if violations == "one" else {}
    name = f"paths-warned-{violations}"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(name)},
            "spec": {"replicas": 0, "selector": {"matchLabels": _labels(name)},
                     "template": {"metadata": {"labels": _labels(name)},
                                  "spec": {"containers": [{"name": "warned", "image": TOOLBOX_IMAGE,
                                                           "securityContext": security}]}}}}


STEPS = ["first", "unchanged", "changed", "checked", "read", "deleted", "deleted_again", "warned",
         "warned_several"]


def playbook(ns: str) -> list[dict]:
    secret_ref = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "paths-switched-off", "namespace": ns}}

    def apply(step: str, objs: list, **extra) -> dict:
        return {"name": step, "airflow_k8s.platform.kube_apply": {"phase": step, "objects": objs, **extra},
                "register": step}

    return [{
        "name": "Both paths, same objects",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": "{{ lookup('ansible.builtin.env', 'KUBECONFIG') }}"}},
        "tasks": [
            apply("first", objects(ns, "one"), wait=True, wait_timeout=120),
            apply("unchanged", objects(ns, "one"), wait=True, wait_timeout=120),
            {**apply("changed", objects(ns, "two")), "diff": True},
            {**apply("checked", objects(ns, "three")), "diff": True, "check_mode": True},
            {"name": "read", "register": "read", "airflow_k8s.platform.kube_read": {"queries": {
                "config": {"kind": "ConfigMap", "namespace": ns, "name": "paths-config"},
                "labelled": {"kind": "Deployment", "api_version": "apps/v1", "namespace": ns,
                             "label_selectors": ["app.kubernetes.io/name=kube-paths"]},
                "missing": {"kind": "ConfigMap", "namespace": ns, "name": "not-there"},
                "unserved": {"kind": "Widget", "api_version": "example.invalid/v1", "namespace": ns},
                "switched_off": None}}},
            apply("deleted", objects(ns, "two", with_secret=False), absent=[secret_ref]),
            apply("deleted_again", objects(ns, "two", with_secret=False), absent=[secret_ref]),
            # Two objects: the modules path then reads the warning from the module's per-object results.
            apply("warned", [objects(ns, "two")[2], warned(ns, "one")]),
            apply("warned_several", [warned(ns, "several")]),
            {"name": "Write the results", "ansible.builtin.copy": {
                "dest": "{{ results_file }}", "mode": "0600",
                "content": "{{ {" + ", ".join(f"'{s}': {s}" for s in STEPS) + "} | to_nice_json }}"}},
        ],
    }]


VOLATILE = {"uid", "resourceVersion", "creationTimestamp", "managedFields", "clusterIP", "clusterIPs",
            "lastTransitionTime", "lastUpdateTime", "invocation", "_ansible_no_log"}


def normalised(value, ns: str):
    """The result without what differs between two namespaces and two moments."""
    if isinstance(value, dict):
        return {k: normalised(v, ns) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalised(v, ns) for v in value]
    if isinstance(value, str):
        return value.replace(ns, "NS")
    return value


def run_path(tmp_path: Path, modules: bool, collections: list[str]) -> tuple[dict, str, str]:
    ns = f"contract-paths-{'modules' if modules else 'local'}-{uuid.uuid4().hex[:6]}"
    book = tmp_path / f"{ns}.yml"
    book.write_text(yaml.safe_dump(playbook(ns), sort_keys=False))
    results = tmp_path / f"{ns}.json"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(collections), "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
           "ANSIBLE_LOCALHOST_WARNING": "0"}
    env.pop("AIRFLOW_K8S_KUBE_MODULES", None)
    if modules:
        env["AIRFLOW_K8S_KUBE_MODULES"] = "1"
    try:
        run = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", str(book), "-e", f"results_file={results}"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out
        return json.loads(results.read_text()), out, ns
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def _version(manifest: Path) -> str:
    return json.loads(manifest.read_text())["collection_info"]["version"]


def _collections() -> list[tuple[str, list[str]]]:
    """The bundled kubernetes.core, then each cached tree of another version."""
    import ansible_collections.kubernetes.core as bundled

    bundled_version = _version(Path(next(iter(bundled.__path__))) / "MANIFEST.json")
    found = [(f"kubernetes.core-{bundled_version}-bundled", [str(REPO / ".collections")])]
    for manifest in sorted(TREES.glob("*/ansible_collections/kubernetes/core/MANIFEST.json")):
        if _version(manifest) != bundled_version:
            found.append((f"kubernetes.core-{_version(manifest)}", [str(REPO / ".collections"), str(manifest.parents[3])]))
    return found


@pytest.mark.parametrize("collections", [c for _, c in _collections()], ids=[n for n, _ in _collections()])
def test_both_paths_answer_alike(tmp_path, collections):
    local, local_out, local_ns = run_path(tmp_path, modules=False, collections=collections)
    modules, modules_out, modules_ns = run_path(tmp_path, modules=True, collections=collections)

    # What the steps must show, on either path.
    for results in (local, modules):
        assert results["first"]["changed"] is True
        assert results["unchanged"]["changed"] is False, results["unchanged"]
        assert results["changed"]["changed"] is True
        assert [a["object"].split()[0] for a in results["changed"]["applied"] if a["changed"]] == [
            "ConfigMap", "Deployment"]
        assert {d["after_header"].split()[0] for d in results["changed"]["diff"]} == {"ConfigMap", "Deployment"}
        assert results["checked"]["changed"] is True
        assert results["read"]["resources"]["config"][0]["data"]["setting"] == "two"  # check mode changed nothing
        assert results["read"]["resources"]["missing"] == []
        assert results["read"]["api_missing"] == ["unserved"]
        assert results["deleted"]["changed"] is True and results["deleted"]["removed"]
        assert results["deleted_again"]["changed"] is False and results["deleted_again"]["removed"] == []
        assert results["warned"]["changed"] is True

    for step in STEPS:
        left, right = normalised(local[step], local_ns), normalised(modules[step], modules_ns)
        if step == "warned_several":
            # kubernetes.core (6.0 to 6.2 at least) splits the Warning header on ", " before decoding it, so a
            # warning whose text holds ", " (Pod Security listing several rules, deprecations "..., unavailable
            # in ...") is lost on the modules path. The in-process path parses the header and keeps it.
            assert left.pop("warnings", None), local[step]
            right.pop("warnings", None)
        assert left == right, step

    # The Pod Security warning reaches the play output on both paths, named by object, with the same text.
    def warnings(out: str, ns: str) -> list[str]:
        text = re.sub(r"\s*\n\s*", " ", out)  # the default callback wraps long warnings
        return sorted(set(w.replace(ns, "NS") for w in re.findall(
            r"\[WARNING\]: (Deployment \S+/paths-warned-\w+: would violate PodSecurity .*?\))(?=\s*(?:\[|TASK|PLAY|$))",
            text)))

    shown = warnings(local_out, local_ns)
    assert [w.split(":")[0] for w in shown] == ["Deployment NS/paths-warned-one",
                                                "Deployment NS/paths-warned-several"], local_out
    assert "runAsNonRoot != true" in shown[0] and ", " not in shown[0].split('": ', 1)[1]
    assert "allowPrivilegeEscalation != false" in shown[1] and "seccompProfile" in shown[1]
    assert warnings(modules_out, modules_ns) == shown[:1], modules_out
