# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the query checks of the kube_read module (plugins/modules/kube_read.py).

Its reads against a cluster run in every Molecule scenario (airflow_db and airflow_core read what an earlier run
left with it); these tests cover the checks that fail a task before any API call.
"""

from __future__ import annotations

import sys
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.modules import kube_read  # noqa: E402
from ansible_collections.airflow_k8s.platform.plugins.module_utils import kube_read_spec  # noqa: E402


def test_good_queries_and_empty_entries_pass() -> None:
    assert kube_read_spec.check_queries({
        "secret": {"kind": "Secret", "namespace": "airflow", "name": "x"},
        "jobs": {"kind": "Job", "api_version": "batch/v1", "label_selectors": ["a=b"]},
        "switched_off": None,
        "also_off": {},
    }) == []


def test_each_bad_query_is_named() -> None:
    errors = kube_read_spec.check_queries({
        "no_kind": {"name": "x"},
        "typo": {"kind": "Secret", "namepsace": "airflow"},
        "selector": {"kind": "Pod", "label_selectors": "a=b"},
        "not_a_dict": "Secret",
    })
    assert len(errors) == 4
    text = " ".join(errors)
    for name in ("queries.no_kind", "queries.typo", "namepsace", "queries.selector.label_selectors",
                 "queries.not_a_dict"):
        assert name in text


def test_argspec_keeps_the_kubernetes_core_auth_options() -> None:
    spec = kube_read.argspec()
    assert {"kubeconfig", "context", "host", "api_key", "validate_certs"} <= set(spec)
    assert spec["queries"] == {"type": "dict", "required": True}


def test_read_queries_runs_every_query_and_names_the_missing_apis():
    calls = []

    def find(kind, api_version, **selectors):
        calls.append((kind, api_version, selectors))
        return ([{"kind": kind}], kind != "StorageClass")

    resources, missing = kube_read_spec.read_queries(
        {"secret": {"kind": "Secret", "namespace": "ns", "name": "s"}, "skipped": {},
         "classes": {"kind": "StorageClass", "api_version": "storage.k8s.io/v1", "label_selectors": ["a=b"]}}, find)
    assert resources == {"secret": [{"kind": "Secret"}], "classes": [{"kind": "StorageClass"}]}
    assert missing == ["classes"]
    assert calls == [
        ("Secret", "v1", {"name": "s", "namespace": "ns", "label_selectors": [], "field_selectors": []}),
        ("StorageClass", "storage.k8s.io/v1",
         {"name": None, "namespace": None, "label_selectors": ["a=b"], "field_selectors": []}),
    ]


def test_read_queries_names_the_failing_query():
    class Refused(Exception):
        pass

    def find(kind, api_version, **selectors):
        raise Refused("connection refused")

    try:
        kube_read_spec.read_queries({"jobs": {"kind": "Job", "namespace": "ns"}}, find,
                                    describe=lambda e: f"<{e}>", errors=(Refused,))
    except kube_read_spec.QueryFailed as e:
        assert str(e) == "query jobs (Job ns) failed: <connection refused>"
    else:
        raise AssertionError("no QueryFailed")
