# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the helpers of the kube_apply action (plugins/action/kube_apply.py).

The action itself (apply, delete, wait against a cluster) is exercised by every Molecule scenario; these tests
cover how it decides a workload is ready, which labels select a phase's workloads, and what a diff shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.action import kube_apply  # noqa: E402


def _deployment(replicas=1, ready=1, updated=1, generation=2, observed=2, conditions=None):
    return {
        "kind": "Deployment",
        "metadata": {"name": "airflow-scheduler", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                   "updatedReplicas": updated, "observedGeneration": observed, "conditions": conditions or []},
    }


def test_a_rolled_out_deployment_is_ready() -> None:
    assert kube_apply._not_ready(_deployment()) is None


def test_a_deployment_the_controller_has_not_seen_yet_is_not_ready() -> None:
    assert kube_apply._not_ready(_deployment(generation=3, observed=2)) is not None


def test_an_unready_deployment_says_why() -> None:
    why = kube_apply._not_ready(_deployment(ready=0, conditions=[
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "no pod"}]))
    assert why is not None
    assert "0/1 ready" in why and "MinimumReplicasUnavailable" in why


def test_a_daemonset_counts_scheduled_pods() -> None:
    ds = {"kind": "DaemonSet", "metadata": {"name": "x", "generation": 1},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "numberReady": 1,
                     "updatedNumberScheduled": 2}}
    assert "1/2 ready" in kube_apply._not_ready(ds)
    ds["status"]["numberReady"] = 2
    assert kube_apply._not_ready(ds) is None


def test_common_labels_keep_only_shared_pairs() -> None:
    objs = [
        {"metadata": {"labels": {"app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": "scheduler"}}},
        {"metadata": {"labels": {"app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": "api-server"}}},
    ]
    assert kube_apply._common_labels(objs) == {"app.kubernetes.io/instance": "airflow"}


def test_diff_leaves_out_what_the_server_changes() -> None:
    obj = {"kind": "Deployment", "status": {"readyReplicas": 1},
           "metadata": {"name": "a", "generation": 4, "resourceVersion": "9", "uid": "u",
                        "creationTimestamp": "t", "managedFields": [{}], "labels": {"a": "b"}},
           "spec": {"replicas": 1}}
    shown = kube_apply._for_diff(obj)
    assert shown == {"kind": "Deployment", "metadata": {"name": "a", "labels": {"a": "b"}}, "spec": {"replicas": 1}}
    assert obj["metadata"]["generation"] == 4  # the input is not changed


def test_diff_shows_a_changed_config_line_as_one_line() -> None:
    """A ConfigMap's airflow.cfg is one string: the diff text puts each of its lines on a line of its own, so that
    a line diff of before and after names the changed option alone."""
    import difflib

    before = {"kind": "ConfigMap", "data": {"airflow.cfg": "[core]\nparallelism = 64\nload_examples = False\n"}}
    after = {"kind": "ConfigMap", "data": {"airflow.cfg": "[core]\nparallelism = 48\nload_examples = False\n"}}
    changed = [line for line in difflib.unified_diff(kube_apply._diff_text(before).splitlines(),
                                                      kube_apply._diff_text(after).splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-    parallelism = 64", "+    parallelism = 48"]
    assert kube_apply._diff_text({}) == ""  # a new object: everything is added
    # a text YAML cannot write as a block (a line ending in a space) is still one line per line
    shown = kube_apply._diff_text({"data": {"airflow.cfg": "[core]\nkey = \nother = 1\n"}})
    assert shown.splitlines() == ["data:", "  airflow.cfg:", "  - '[core]'", "  - 'key = '", "  - other = 1", "  - ''"]


def test_diff_of_an_object_the_task_gave_with_tagged_values() -> None:
    """A dry run into a namespace that does not exist yet returns the task's own object as the `after`: values of
    from_yaml carry Ansible's tags (subclasses of str, int, dict, list), which yaml.SafeDumper refuses ("cannot
    represent an object"). The diff shows them as plain values."""
    from ansible._internal._datatag._tags import Origin

    origin = Origin(path="/roles/airflow_core/templates/secrets/secret.yaml.j2", line_num=1)
    obj = {origin.tag("apiVersion"): origin.tag("v1"),
           origin.tag("data"): origin.tag({origin.tag("key"): origin.tag("line 1\nline 2\n")}),
           origin.tag("spec"): origin.tag({"replicas": origin.tag(2), "items": origin.tag(["a"])})}
    assert type(next(iter(obj))) is not str  # the test's premise: a tagged key
    assert kube_apply._diff_text(obj).splitlines() == [
        "apiVersion: v1", "data:", "  key: |", "    line 1", "    line 2", "spec:", "  items:", "  - a", "  replicas: 2"]


def _validate(args: dict):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    from ansible_collections.airflow_k8s.platform.plugins.module_utils import kube_apply_spec as spec

    return ArgumentSpecValidator(spec.ARGUMENT_SPEC, mutually_exclusive=spec.MUTUALLY_EXCLUSIVE,
                                 required_one_of=spec.REQUIRED_ONE_OF).validate(args)


def test_one_phase_or_a_list_of_phases_is_required() -> None:
    assert "phase, phases" in " ".join(_validate({}).error_messages)
    assert _validate({"phase": "30-core-rbac", "objects": []}).error_messages == []
    assert _validate({"phases": [{"phase": "30-core-rbac"}]}).error_messages == []


def test_a_list_of_phases_excludes_the_single_phase_arguments() -> None:
    for extra in ({"phase": "x"}, {"objects": [{}]}, {"absent": [{}]}):
        errors = _validate({"phases": [{"phase": "a"}], **extra}).error_messages
        assert any("mutually exclusive" in e for e in errors), extra
    assert any("phase" in e for e in _validate({"phases": [{"objects": []}]}).error_messages)


class _Task:
    check_mode = False


def _secret(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": {"password": "s3cret"}}


def test_render_writes_one_file_per_phase_with_objects(tmp_path: Path) -> None:
    action = kube_apply.ActionModule.__new__(kube_apply.ActionModule)
    action._task = _Task()
    phases = [
        {"phase": "20-db-secrets", "objects": [_secret("a")], "absent": []},
        {"phase": "22-db-connection", "objects": [], "absent": [{"kind": "Secret", "metadata": {"name": "ca"}}]},
        {"phase": "21-db-postgres", "objects": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg"}}],
         "absent": []},
    ]
    result = action._render({"changed": False}, phases, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20-db-secrets.yaml", "21-db-postgres.yaml"]
    assert result["changed"] is True
    assert result["dest"] == [str(tmp_path / "20-db-secrets.yaml"), str(tmp_path / "21-db-postgres.yaml")]
    assert "s3cret" not in (tmp_path / "20-db-secrets.yaml").read_text()
    # The same input again changes nothing
    assert action._render({"changed": False}, phases, str(tmp_path))["changed"] is False


def _applied_deployment(replicas=1, status_replicas=1, available=1, unavailable=None, generation=2, observed=2):
    status = {"observedGeneration": observed, "replicas": status_replicas, "availableReplicas": available}
    if unavailable is not None:
        status["unavailableReplicas"] = unavailable
    return {"kind": "Deployment", "metadata": {"name": "airflow-scheduler", "generation": generation},
            "spec": {"replicas": replicas}, "status": status}


def test_ready_by_the_apply_answer_is_the_wait_condition_of_a_deployment() -> None:
    assert kube_apply._not_ready(_applied_deployment()) is None
    assert kube_apply._not_ready(_applied_deployment(generation=3, observed=2))
    assert kube_apply._not_ready(_applied_deployment(available=0, unavailable=1))
    # A rollout in progress: two pods exist for one wanted.
    assert kube_apply._not_ready(_applied_deployment(status_replicas=2, available=2))


def test_ready_by_the_apply_answer_needs_a_status() -> None:
    assert kube_apply._not_ready({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1}})


def test_ready_by_the_apply_answer_of_a_statefulset_compares_revisions() -> None:
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 1, "updateStrategy": {"type": "RollingUpdate"}},
           "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                      "currentRevision": "db-1", "updateRevision": "db-1"}}
    assert kube_apply._not_ready(sts) is None
    sts["status"]["updateRevision"] = "db-2"
    assert kube_apply._not_ready(sts)


def test_ready_by_the_apply_answer_of_a_daemonset() -> None:
    ds = {"kind": "DaemonSet", "metadata": {"name": "x", "generation": 1},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "numberReady": 2,
                     "updatedNumberScheduled": 2}}
    assert kube_apply._not_ready(ds) is None
    ds["status"]["numberReady"] = 1
    assert kube_apply._not_ready(ds)


def test_objects_that_are_not_workloads_need_no_wait() -> None:
    assert kube_apply._not_ready({"kind": "Service", "metadata": {"name": "x"}}) is None
