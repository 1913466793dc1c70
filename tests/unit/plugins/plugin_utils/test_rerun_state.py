# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The digests a re-run compares (plugins/plugin_utils/rerun_state.py): which edits of a live object count, and what
makes the input fingerprint move. The live proof (edit, delete, re-run, put back) is the benchmark's drift step
(tests/benchmarks/run.py, `drift`), which CI runs as bench-smoke."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import rerun_state as rs  # noqa: E402

# A Deployment as the API server returns it after the collection's server-side apply: our fields, the controller's
# annotation, defaults and status.
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {
        "name": "airflow-scheduler", "namespace": "airflow", "generation": 3, "resourceVersion": "812",
        "labels": {"app.kubernetes.io/name": "airflow"},
        "annotations": {"deployment.kubernetes.io/revision": "3"},
        "managedFields": [
            {"manager": "airflow-k8s", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                          "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                              'k:{"name":"scheduler"}': {".": {}, "f:image": {}, "f:name": {},
                                                         "f:args": {}}}}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
             "fieldsV1": {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {"f:readyReplicas": {}}}},
        ],
    },
    "spec": {"replicas": 1, "revisionHistoryLimit": 10, "template": {"spec": {"containers": [
        {"name": "scheduler", "image": "airflow:3.3.2", "args": ["scheduler"], "imagePullPolicy": "IfNotPresent"},
        {"name": "sidecar", "image": "other:1"}]}}},
    "status": {"readyReplicas": 1, "observedGeneration": 3},
}


def _edited(**changes):
    obj = copy.deepcopy(DEPLOYMENT)
    for path, value in changes.items():
        node = obj
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        node[keys[-1]] = value
    return obj


def test_what_others_own_does_not_count():
    base = rs.object_digest(DEPLOYMENT)
    assert rs.object_digest(_edited(**{"status.readyReplicas": 0})) == base
    assert rs.object_digest(_edited(**{"metadata.annotations": {"deployment.kubernetes.io/revision": "4"}})) == base
    assert rs.object_digest(_edited(**{"metadata.resourceVersion": "999"})) == base
    # a default the server added, and a container another manager added
    assert rs.object_digest(_edited(**{"spec.revisionHistoryLimit": 5})) == base
    assert rs.object_digest(_edited(**{"spec.template.spec.containers.1.image": "other:2"})) == base


@pytest.mark.parametrize("path, value", [
    ("spec.replicas", 2),
    ("spec.template.spec.containers.0.image", "airflow:3.3.3"),
    ("spec.template.spec.containers.0.args", ["scheduler", "--debug"]),
    ("metadata.labels", {"app.kubernetes.io/name": "other"}),
])
def test_an_edit_of_an_owned_field_counts(path, value):
    assert rs.object_digest(_edited(**{path: value})) != rs.object_digest(DEPLOYMENT)


def test_a_field_taken_over_by_another_manager_counts():
    # kubectl scale: the replicas move to another manager (the value may even be the same)
    moved = copy.deepcopy(DEPLOYMENT)
    del moved["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:replicas"]
    assert rs.object_digest(moved) != rs.object_digest(DEPLOYMENT)


def test_a_deleted_object_is_missing_and_named():
    key = rs.ref_key("networking.k8s.io/v1", "NetworkPolicy", "airflow", "airflow-dns")
    assert rs.object_digest(None) == "missing"
    assert rs.compare({key: "abc"}, {key: "missing"}) == ["NetworkPolicy airflow/airflow-dns is missing"]
    assert rs.compare({key: "abc"}, {key: "abd"}) == ["NetworkPolicy airflow/airflow-dns was changed"]
    assert rs.compare({key: "abc"}, {key: "abc"}) == []


def test_groups_one_list_per_kind_and_namespace():
    keys = [rs.ref_key("v1", "ConfigMap", "a", "x"), rs.ref_key("v1", "ConfigMap", "a", "y"),
            rs.ref_key("v1", "Namespace", None, "a")]
    assert rs.groups(keys) == {("v1", "ConfigMap", "a"): ["x", "y"], ("v1", "Namespace", None): ["a"]}


def test_a_secret_not_owned_is_compared_whole():
    secret = {"type": "Opaque", "data": {"password": "c2VjcmV0"}}
    assert rs.secret_digest(secret) == rs.secret_digest(copy.deepcopy(secret))
    assert rs.secret_digest({**secret, "data": {"password": "b3RoZXI="}}) != rs.secret_digest(secret)
    assert "c2VjcmV0" not in rs.secret_digest(secret)


def test_the_fingerprint_follows_values_and_the_files_they_name(tmp_path):
    root = tmp_path / "collection"
    (root / "roles").mkdir(parents=True)
    (root / "roles" / "x.yml").write_text("a: 1\n")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "one.py").write_text("print(1)\n")
    values = {"airflow_core_dags": {"local_path": str(dags)}, "airflow_namespace": "airflow"}

    def fingerprint(vals=values):
        return rs.input_fingerprint(str(root), vals, vals, [str(tmp_path)])

    first = fingerprint()
    assert fingerprint() == first
    (dags / "one.py").write_text("print(2)\n")  # a DAG edited
    second = fingerprint()
    assert second != first
    (root / "roles" / "x.yml").write_text("a: 2\n")  # the collection changed
    third = fingerprint()
    assert third != second
    assert fingerprint({**values, "airflow_namespace": "other"}) != third
    # relative paths (with a slash, or under a key naming a path) resolve against the bases given
    assert rs.local_paths({"p": "./dags"}, [str(tmp_path)]) == {str(dags.resolve())}
    assert rs.local_paths({"local_path": "dags", "name": "dags"}, [str(tmp_path)]) == {str(dags.resolve())}
    assert rs.local_paths({"name": "dags"}, [str(tmp_path)]) == set()


def test_a_folder_too_large_is_refused(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"f{i}").write_text("x")
    monkeypatch.setattr(rs, "MAX_FILES", 2)
    with pytest.raises(rs.Unfingerprintable):
        rs.tree_digest(str(tmp_path))
