# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The extension points of airflow_core: the pod_extras and pod_override filters (plugins/filter/pod_extensions.py)
and their input rules (plugin_utils/input_rules.py, extension_problems). tests/test_extend.py renders them."""

from __future__ import annotations

from ansible_collections.airflow_k8s.platform.plugins.filter.pod_extensions import pod_extras, pod_override
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import input_rules as r

SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
POD_SC = {"runAsNonRoot": True, "runAsUser": 50000, "seccompProfile": {"type": "RuntimeDefault"}}


def test_pod_extras_merges_the_security_context_under_the_users() -> None:
    settings = {"extra_containers": [{"name": "s", "securityContext": {"readOnlyRootFilesystem": True}}],
                "probes": {"liveness": {"periodSeconds": 99}},
                "topology_spread_constraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]}
    extras = pod_extras(settings, "airflow_core_scheduler", "scheduler", "airflow",
                        {"volumes": [{"name": "v", "emptyDir": {}}], "env_from": []}, SC, "img:1")
    assert extras["containers"] == [{"name": "s", "image": "img:1", "securityContext": {**SC, "readOnlyRootFilesystem": True}}]
    assert extras["volumes"] == [{"name": "v", "emptyDir": {}}]
    # probe by probe, timing by timing: the defaults of defaults/main.yml stay where not given
    assert extras["probes"]["liveness"] == {"periodSeconds": 99, "timeoutSeconds": 10, "failureThreshold": 5}
    assert extras["probes"]["startup"] == {"periodSeconds": 2, "failureThreshold": 150}
    assert extras["topology_spread_constraints"][0]["labelSelector"] == {"matchLabels": {
        "app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": "scheduler"}}


def test_several_replicas_get_a_soft_spread_over_nodes_unless_the_user_gives_one() -> None:
    selector = {"matchLabels": {"app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "etl",
                                "app.kubernetes.io/component": "api-server"}}

    def spread(settings):
        return pod_extras(settings, "airflow_core_api_server", "api-server", "etl", {}, SC)["topology_spread_constraints"]

    assert spread({"replicas": 1}) == []
    assert spread({}) == []  # the worker pod template has no replicas
    assert spread({"replicas": 2}) == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}]
    own = [{"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}]
    assert spread({"replicas": 3, "topology_spread_constraints": own}) == [{**own[0], "labelSelector": selector}]


def test_pod_override_merges_by_name_and_keeps_the_role_guarantees() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "placeholder", "labels": {"app.kubernetes.io/component": "worker"}},
           "spec": {"securityContext": POD_SC, "containers": [
               {"name": "base", "env": [{"name": "A", "value": "1"}], "securityContext": SC}]}}
    override = {"metadata": {"labels": {"app.kubernetes.io/component": "mine", "team": "x"}},
                "spec": {"securityContext": {"runAsUser": 1234},
                         "containers": [{"name": "helper", "image": "h"},
                                        {"name": "base", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "3"}]}]}}
    out = pod_override(pod, override, "merge", "airflow", "3.0.0", SC, POD_SC)
    assert [c["name"] for c in out["spec"]["containers"]] == ["base", "helper"]
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "3"}, {"name": "B", "value": "2"}]
    assert out["spec"]["containers"][1]["securityContext"] == SC
    assert out["spec"]["securityContext"] == {**POD_SC, "runAsUser": 1234}
    assert out["metadata"]["labels"]["app.kubernetes.io/component"] == "worker" and out["metadata"]["labels"]["team"] == "x"
    assert pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}], "the rendered pod is not changed"
    assert pod_override(pod, {}, "merge", "airflow", "3.0.0", SC, POD_SC) is pod
    replaced = pod_override(pod, {"spec": {"containers": [{"name": "base", "image": "x"}]}}, "replace", "airflow", "3.0.0", SC, POD_SC)
    assert replaced["kind"] == "Pod" and replaced["spec"]["containers"][0]["securityContext"] == SC
    assert replaced["spec"]["securityContext"] == POD_SC


ROLE = {"volumes": ["config", "logs"], "containers": ["scheduler", "base"], "mount_paths": ["/opt/airflow/logs"],
        "objects": ["airflow-config"], "role_secrets": ["airflow-secrets"], "worker_secrets": ["keys"],
        "label_keys": ["app.kubernetes.io/component"], "label_prefixes": ["airflow-k8s.io/"]}


def problems(**kw) -> list[str]:
    spec = {"role": ROLE, "common": kw.pop("common", {}), "components": kw.pop("components", {}), **kw}
    return r.extension_problems(spec)


def test_a_valid_extension_passes() -> None:
    assert problems(
        common={"airflow_core_extra_volumes": [{"name": "v", "configMap": {"name": "c"}}],
                "airflow_core_extra_volume_mounts": [{"name": "v", "mountPath": "/v"}],
                "airflow_core_env_from": [{"secretRef": {"name": "mine"}}]},
        components={"airflow_core_workers": {"worker": True, "airflow": True, "settings": {
            "extra_init_containers": [{"name": "side", "restartPolicy": "Always", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
            "pod_labels": {"team": "x"}, "pod_template": {"spec": {"containers": [{"name": "base", "env": []}]}}}}},
        configmaps={"c": {"k": "v"}}, secrets={"s": {"k": "v"}}) == []


def test_each_restricted_rule_is_refused() -> None:
    bad = [{"name": f"c{n}", "securityContext": sc} for n, sc in enumerate([
        {"privileged": True}, {"allowPrivilegeEscalation": True}, {"runAsNonRoot": False}, {"runAsUser": 0},
        {"capabilities": {"add": ["SYS_ADMIN"]}}, {"capabilities": {"drop": ["NET_RAW"]}},
        {"seccompProfile": {"type": "Unconfined"}}, {"procMount": "Unmasked"}, {"windowsOptions": {"hostProcess": True}}])]
    found = problems(components={"airflow_core_scheduler": {"airflow": True, "settings": {"extra_containers": bad}}})
    assert len(found) == len(bad), found
    for n, p in enumerate(found):
        assert p.startswith(f"airflow_core_scheduler.extra_containers[{n}].securityContext."), p


def test_names_volumes_and_secrets_are_refused() -> None:
    found = problems(
        common={"airflow_core_extra_volumes": [{"name": "config", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}}],
                "airflow_core_env_from": [{"secretRef": {"name": "keys"}}, {"secretRef": {"name": "airflow-secrets"}}]},
        components={"airflow_core_workers": {"worker": True, "airflow": True, "settings": {
            "extra_volumes": [{"name": "s", "secret": {"secretName": "keys"}}],
            "pod_labels": {"app.kubernetes.io/component": "x", "airflow-k8s.io/db-client": "true"},
            "pod_template": {"spec": {"hostPID": True}}, "pod_template_mode": "replace"}}},
        configmaps={"airflow-config": {}}, secrets={"x": {"k": 123456789}})
    text = "\n".join(found)
    for expected in ("airflow_core_extra_volumes[0].name=\"config\" is a volume of the role's own",
                     "airflow_core_extra_volumes[1] (h) uses hostPath",
                     "airflow_core_env_from[0].secretRef.name=\"keys\" holds a secret of the deployment",
                     "airflow_core_env_from[1].secretRef.name=\"airflow-secrets\" is a Secret of the role's",
                     "airflow_core_workers refers to the Secrets keys",
                     "airflow_core_workers.pod_labels.app.kubernetes.io/component is a label the role sets",
                     "airflow_core_workers.pod_labels.airflow-k8s.io/db-client is a label the role sets",
                     "airflow_core_workers.pod_template.spec.hostPID=true",
                     "needs a container named base",
                     "airflow_core_extra_configmaps.airflow-config is an object of the role's own",
                     "airflow_core_extra_secrets.x.k=(a value, not shown)"):
        assert expected in text, f"{expected}\n{text}"
    assert "123456789" not in text


def test_probes_and_spread_are_checked() -> None:
    found = problems(components={"airflow_core_statsd": {"probes": ["liveness"], "settings": {
        "probes": {"liveness": {"periodSeconds": 0, "bogus": 1}, "startup": {}},
        "topology_spread_constraints": [{"maxSkew": 0, "whenUnsatisfiable": "x"}]}}})
    text = "\n".join(found)
    for expected in ("airflow_core_statsd.probes.liveness.periodSeconds=0", "airflow_core_statsd.probes.liveness.bogus",
                     "airflow_core_statsd.probes.startup: this container has no such probe",
                     "topology_spread_constraints[0].maxSkew=0", "topology_spread_constraints[0].topologyKey",
                     "topology_spread_constraints[0].whenUnsatisfiable=\"x\""):
        assert expected in text, f"{expected}\n{text}"
