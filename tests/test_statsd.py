"""Metrics end to end, as rendered (playbooks/render.yml on inventories/local, NetworkPolicies on, statsd on):
the exporter's mapping turns the DAG id, task id, state... of Airflow's metric names into labels, Airflow's
components and worker pods send to the exporter's Service (airflow.cfg [metrics]) and the NetworkPolicies let them,
the Service carries the scrape annotations, and a ServiceMonitor is written when asked for.

The live proof (a DAG run read back from the exporter's /metrics) is extensions/molecule/shared/verify_metrics.yml.
"""

from __future__ import annotations

import configparser
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib import kubeval, pss
from lib.ansible_run import REPO, RENDER_PLAYBOOK, manifest_files, run_playbook
from lib.manifests import container, load_documents, name, of_kind, pod_template, worker_pod_templates
from lib.specs import load_yaml

Obj = dict[str, Any]

PROMETHEUS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
EXTRA_MAPPING = {"match": "airflow.my_team.*.hits", "name": "my_team_hits", "labels": {"source": "$1"}}
RENDERS = {
    # statsd on with everything a user may set; the ServiceMonitor asked for (render mode cannot read the cluster)
    "full": {
        "airflow_core_statsd": {
            "enabled": True,
            "service_monitor": "always",
            "service_monitor_labels": {"release": "prometheus"},
            "service_annotations": {"team": "data"},
            "extra_mappings": [EXTRA_MAPPING],
        },
        "airflow_core_network_policies": {"enabled": True, "metrics_ingress_from": PROMETHEUS},
    },
    # statsd on with its defaults: auto writes no ServiceMonitor in render mode
    "defaults": {"airflow_core_statsd": {"enabled": True}, "airflow_core_network_policies": {"enabled": True}},
    # statsd off: none of its objects, no [metrics] section
    "off": {"airflow_core_network_policies": {"enabled": True}},
}

# Airflow 3.3's metric names with variables (airflow/_shared/observability/metrics/metrics_template.yaml): the
# legacy name, as the statsd client sends it with [metrics] statsd_prefix = airflow, and the new name sent beside it
# (its tags dropped by plain statsd). {dag_id}... are filled in below.
AIRFLOW_METRICS = [
    ("local_task_job.task_exit.{job_id}.{dag_id}.{task_id}.{return_code}", "local_task_job.task_exit"),
    ("operator_failures_{operator_name}", "operator_failures"),
    ("operator_successes_{operator_name}", "operator_successes"),
    ("ti.start.{dag_id}.{task_id}", "ti.start"),
    ("ti.finish.{dag_id}.{task_id}.{state}", "ti.finish"),
    ("task_removed_from_dag.{dag_id}", "task_removed_from_dag"),
    ("task_restored_to_dag.{dag_id}", "task_restored_to_dag"),
    ("task_instance_created_{task_type}", "task_instance_created"),
    ("dag_processing.last_run.seconds_ago.{file_name}", "dag_processing.last_run.seconds_ago"),
    ("dag_processing.last_num_of_db_queries.{dag_file}", None),
    ("executor.open_slots.{executor_class_name}", "executor.open_slots"),
    ("executor.queued_tasks.{executor_class_name}", "executor.queued_tasks"),
    ("executor.running_tasks.{executor_class_name}", "executor.running_tasks"),
    ("pool.open_slots.{pool_name}", "pool.open_slots"),
    ("pool.queued_slots.{pool_name}", "pool.queued_slots"),
    ("pool.running_slots.{pool_name}", "pool.running_slots"),
    ("pool.deferred_slots.{pool_name}", "pool.deferred_slots"),
    ("pool.scheduled_slots.{pool_name}", "pool.scheduled_slots"),
    ("pool.starving_tasks.{pool_name}", "pool.starving_tasks"),
    ("triggers.running.{hostname}", "triggers.running"),
    ("triggerer.capacity_left.{hostname}", "triggerer.capacity_left"),
    ("ti.scheduled.{queue}.{dag_id}.{task_id}", "ti.scheduled"),
    ("ti.queued.{queue}.{dag_id}.{task_id}", "ti.queued"),
    ("ti.running.{queue}.{dag_id}.{task_id}", "ti.running"),
    ("ti.deferred.{queue}.{dag_id}.{task_id}", "ti.deferred"),
    ("dagrun.dependency-check.{dag_id}", "dagrun.dependency-check"),
    ("dag.{dag_id}.{task_id}.duration", "task.duration"),
    ("dag.{dag_id}.{task_id}.scheduled_duration", "task.scheduled_duration"),
    ("dag.{dag_id}.{task_id}.queued_duration", "task.queued_duration"),
    ("dag_processing.last_duration.{bundle_name}.{file_name}", "dag_processing.last_duration"),
    ("dagrun.duration.success.{dag_id}", "dagrun.duration.success"),
    ("dagrun.duration.failed.{dag_id}", "dagrun.duration.failed"),
    ("dagrun.schedule_delay.{dag_id}", "dagrun.schedule_delay"),
    ("dagrun.{dag_id}.first_task_scheduling_delay", "dagrun.first_task_scheduling_delay"),
]
VALUES = {
    "dag_id": "etl_daily", "task_id": "grp__load", "state": "success", "job_id": "42", "return_code": "0",
    "operator_name": "PythonOperator", "task_type": "BashOperator", "file_name": "etl_daily", "dag_file": "etl_daily",
    "executor_class_name": "KubernetesExecutor", "pool_name": "default_pool", "hostname": "triggerer-0",
    "queue": "default", "bundle_name": "dags-folder",
}
# Metrics without variables keep their name
PLAIN = ["scheduler_heartbeat", "dagbag_size", "dag_processing.import_errors", "SchedulerJob_start"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    base = tmp_path_factory.mktemp("statsd")

    def render(key: str) -> list[Obj]:
        folder = base / key
        folder.mkdir()
        result = run_playbook(RENDER_PLAYBOOK, "local", render_dir=folder, extra_vars=RENDERS[key], timeout=600)
        assert result.returncode == 0, f"render {key} failed:\n{result.tail()}"
        return [d.obj for d in load_documents(manifest_files(folder))]

    with ThreadPoolExecutor(max_workers=len(RENDERS)) as pool:
        futures = {key: pool.submit(render, key) for key in RENDERS}
        return {key: future.result() for key, future in futures.items()}


def _one(objects: list[Obj], kind: str, object_name: str) -> Obj:
    found = [o for o in of_kind(objects, kind) if name(o) == object_name]
    assert len(found) == 1, f"{kind} {object_name}: {len(found)} rendered"
    return found[0]


def _mapping(objects: list[Obj]) -> list[Obj]:
    data = yaml.safe_load(_one(objects, "ConfigMap", "airflow-statsd-mapping")["data"]["mapping.yml"])
    return data["mappings"]


def _glob(pattern: str, metric: str) -> list[str] | None:
    """statsd_exporter's glob: each * is one whole dot-separated part; the parts it matched, else None."""
    p_parts, m_parts = pattern.split("."), metric.split(".")
    if len(p_parts) != len(m_parts):
        return None
    captured = []
    for p, m in zip(p_parts, m_parts):
        if p == "*":
            captured.append(m)
        elif p != m:
            return None
    return captured


def map_metric(mappings: list[Obj], metric: str) -> tuple[str, dict[str, str]] | None:
    """(Prometheus name, labels) the exporter makes of a statsd name, None when dropped (the first match wins)."""
    for m in mappings:
        if m.get("match_type") == "regex":
            found = re.match(m["match"], metric)
            captured = list(found.groups()) if found else None
        else:
            captured = _glob(m["match"], metric)
        if captured is None:
            continue
        if m.get("action") == "drop":
            return None
        labels = {k: re.sub(r"\$(\d+)", lambda g: captured[int(g.group(1)) - 1], v) for k, v in (m.get("labels") or {}).items()}
        return m["name"], labels
    return re.sub(r"[^a-zA-Z0-9_]", "_", metric), {}


def test_map_metric_can_fail() -> None:
    """Self-check of the matcher the tests below use: globs match whole parts only, the first match wins."""
    mappings = [{"match": "a.b", "name": "x", "action": "drop"}, {"match": "a.*", "name": "a_any", "labels": {"k": "$1"}}]
    assert map_metric(mappings, "a.b") is None
    assert map_metric(mappings, "a.c") == ("a_any", {"k": "c"})
    assert map_metric(mappings, "a.c.d") == ("a_c_d", {})


@pytest.mark.parametrize(("legacy", "new"), AIRFLOW_METRICS, ids=[m[0] for m in AIRFLOW_METRICS])
def test_mapping_turns_name_parts_into_labels(renders: dict[str, list[Obj]], legacy: str, new: str | None) -> None:
    mappings = _mapping(renders["defaults"])
    variables = re.findall(r"\{(\w+)\}", legacy)
    mapped = map_metric(mappings, "airflow." + legacy.format(**VALUES))
    assert mapped is not None, f"airflow.{legacy} is dropped"
    metric, labels = mapped
    assert labels == {v: VALUES[v] for v in variables}, f"airflow.{legacy} -> {metric}{labels}"
    for v in variables:
        assert VALUES[v] not in metric, f"airflow.{legacy} -> metric name {metric} carries the {v}"
    assert metric.startswith("airflow_")
    if new is not None:
        # the new name (its tags dropped by plain statsd) would stand beside the labelled series without labels
        assert map_metric(mappings, "airflow." + new) is None, f"airflow.{new} is not dropped"
        assert metric == "airflow_" + re.sub(r"[^a-zA-Z0-9_]", "_", new)


def test_ti_finish_is_labelled_as_documented(renders: dict[str, list[Obj]]) -> None:
    assert map_metric(_mapping(renders["defaults"]), "airflow.ti.finish.etl_daily.load.success") == (
        "airflow_ti_finish", {"dag_id": "etl_daily", "task_id": "load", "state": "success"})


@pytest.mark.parametrize("metric", PLAIN)
def test_metrics_without_variables_keep_their_name(renders: dict[str, list[Obj]], metric: str) -> None:
    assert map_metric(_mapping(renders["defaults"]), "airflow." + metric) == ("airflow_" + metric.replace(".", "_"), {})


def test_extra_mappings_come_first(renders: dict[str, list[Obj]]) -> None:
    mappings = _mapping(renders["full"])
    assert mappings[0] == EXTRA_MAPPING
    assert map_metric(mappings, "airflow.my_team.web.hits") == ("my_team_hits", {"source": "web"})
    assert mappings[1:] == _mapping(renders["defaults"])


def test_exporter_reads_the_mapping(renders: dict[str, list[Obj]]) -> None:
    objects = renders["defaults"]
    deployment = _one(objects, "Deployment", "airflow-statsd")
    spec = pod_template(deployment)["spec"]
    c = container(spec, "statsd")
    assert c is not None
    config = [a.split("=", 1)[1] for a in c["args"] if a.startswith("--statsd.mapping-config=")]
    assert len(config) == 1, c["args"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted = [n for n, path in mounts.items() if config[0] == f"{path}/mapping.yml"]
    assert mounted and volumes[mounted[0]]["configMap"]["name"] == "airflow-statsd-mapping"
    assert "--statsd.listen-udp=:9125" in c["args"] and "--web.listen-address=:9102" in c["args"]
    assert not pss.check_object(deployment)


def test_mapping_change_rolls_the_exporter(renders: dict[str, list[Obj]]) -> None:
    sums = {key: pod_template(_one(renders[key], "Deployment", "airflow-statsd"))["metadata"]["annotations"]["checksum/config"]
            for key in ("full", "defaults")}
    assert sums["full"] != sums["defaults"]


def _airflow_cfg(objects: list[Obj]) -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(_one(objects, "ConfigMap", "airflow-config")["data"]["airflow.cfg"])
    return cfg


def test_every_airflow_pod_sends_to_the_exporter(renders: dict[str, list[Obj]]) -> None:
    objects = renders["defaults"]
    cfg = _airflow_cfg(objects)
    service = _one(objects, "Service", cfg["metrics"]["statsd_host"])
    assert cfg["metrics"]["statsd_on"] == "True"
    assert cfg["metrics"]["statsd_prefix"] == "airflow"
    assert cfg["metrics"]["legacy_names_on"] == "True"
    udp = [p for p in service["spec"]["ports"] if p["protocol"] == "UDP"]
    assert [p["port"] for p in udp] == [int(cfg["metrics"]["statsd_port"])] == [9125]
    # airflow.cfg reaches each component and the worker pod template through the same ConfigMap
    pods = [(name(d), pod_template(d)["spec"]) for d in of_kind(objects, "Deployment") if name(d) != "airflow-statsd"]
    pods += [("worker pod template", pod["spec"]) for _, pod in worker_pod_templates(objects)]
    assert len(pods) >= 5, [p[0] for p in pods]
    for who, spec in pods:
        main = spec["containers"][0]
        cfg_mounts = [m for m in main["volumeMounts"] if m["mountPath"] == "/opt/airflow/airflow.cfg"]
        assert cfg_mounts, f"{who}: airflow.cfg is not mounted"
        volume = next(v for v in spec["volumes"] if v["name"] == cfg_mounts[0]["name"])
        assert volume["configMap"]["name"] == "airflow-config", who


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        present = e["key"] in labels
        if e["operator"] == "In" and not (present and labels[e["key"]] in e["values"]):
            return False
        if e["operator"] == "NotIn" and present and labels[e["key"]] in e["values"]:
            return False
    return True


def _allows(policies: list[Obj], direction: str, pod: dict[str, str], peer: dict[str, str], port: int, protocol: str) -> bool:
    """Does a policy selecting `pod` allow traffic with `peer` (a pod of the namespace) in that direction?"""
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for p in policies:
        spec = p["spec"]
        if direction not in spec.get("policyTypes", []) or not _selects(spec["podSelector"], pod):
            continue
        for rule in spec.get(key) or []:
            ports = rule.get("ports")
            if ports and not any(pt.get("port") == port and pt.get("protocol", "TCP") == protocol for pt in ports):
                continue
            peers = rule.get(peers_key)
            if not peers or any("podSelector" in q and "namespaceSelector" not in q and _selects(q["podSelector"], peer)
                                for q in peers):
                return True
    return False


def _pod_labels(objects: list[Obj]) -> dict[str, dict[str, str]]:
    labels = {name(d): pod_template(d)["metadata"]["labels"] for d in of_kind(objects, "Deployment")}
    for _, pod in worker_pod_templates(objects):
        labels["worker"] = pod["metadata"]["labels"]
    return labels


def test_network_policies_let_every_airflow_pod_reach_the_exporter(renders: dict[str, list[Obj]]) -> None:
    objects = renders["defaults"]
    policies = of_kind(objects, "NetworkPolicy")
    pods = _pod_labels(objects)
    statsd = pods.pop("airflow-statsd")
    senders = {n: l for n, l in pods.items() if l.get("app.kubernetes.io/component") != "postgres"}
    assert {"airflow-scheduler", "airflow-api-server", "airflow-dag-processor", "airflow-triggerer", "worker"} <= set(senders)
    for who, labels in senders.items():
        assert _allows(policies, "Egress", labels, statsd, 9125, "UDP"), f"{who} may not send to statsd on 9125/UDP"
        assert _allows(policies, "Ingress", statsd, labels, 9125, "UDP"), f"statsd does not accept {who} on 9125/UDP"
        assert not _allows(policies, "Egress", labels, statsd, 9125, "TCP"), f"{who}: egress to statsd beyond 9125/UDP"
    # the default-deny stays: without the statsd policies nothing may send (the check above can fail)
    others = [p for p in policies if not name(p).startswith("airflow-statsd")]
    assert not _allows(others, "Egress", senders["worker"], statsd, 9125, "UDP")
    # the exporter's /metrics: any source by default
    assert _allows(policies, "Ingress", statsd, {"app": "prometheus"}, 9102, "TCP")


def test_metrics_ingress_from_restricts_the_scrape(renders: dict[str, list[Obj]]) -> None:
    policy = _one(renders["full"], "NetworkPolicy", "airflow-statsd")
    scrape = [r for r in policy["spec"]["ingress"] if r["ports"] == [{"port": 9102, "protocol": "TCP"}]]
    assert scrape == [{"ports": [{"port": 9102, "protocol": "TCP"}], "from": PROMETHEUS}]


def test_service_carries_scrape_annotations(renders: dict[str, list[Obj]]) -> None:
    annotations = _one(renders["full"], "Service", "airflow-statsd")["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "9102", "prometheus.io/path": "/metrics",
                           "team": "data"}
    service = _one(renders["defaults"], "Service", "airflow-statsd")
    metrics_port = next(p for p in service["spec"]["ports"] if p["name"] == "metrics")
    assert str(metrics_port["port"]) == service["metadata"]["annotations"]["prometheus.io/port"]


def test_service_monitor_when_asked(renders: dict[str, list[Obj]]) -> None:
    monitor = _one(renders["full"], "ServiceMonitor", "airflow-statsd")
    service = _one(renders["full"], "Service", "airflow-statsd")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert _selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [service["metadata"]["namespace"]]}
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert any(p["name"] == "metrics" for p in service["spec"]["ports"])
    # render mode cannot read the cluster: auto writes none
    assert not of_kind(renders["defaults"], "ServiceMonitor")


def test_statsd_off_renders_none_of_it(renders: dict[str, list[Obj]]) -> None:
    objects = renders["off"]
    assert not [f"{o['kind']} {name(o)}" for o in objects if "statsd" in name(o)]
    assert "metrics" not in _airflow_cfg(objects)


@pytest.mark.parametrize("version", kubeval.KUBERNETES_VERSIONS)
def test_statsd_objects_validate(renders: dict[str, list[Obj]], version: str) -> None:
    errors = [f"{o['kind']} {name(o)}: {r}" for o in renders["full"] if "statsd" in name(o)
              for r in [kubeval.validate(o, version)] if r]
    assert not errors, errors


def _versions_env() -> dict[str, str]:
    """tests/images/versions.env as bash reads it (KEY=value, $KEY of an earlier line expanded)."""
    values: dict[str, str] = {}
    for line in (REPO / "tests" / "images" / "versions.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], value)
    return values


def test_offline_exporter_is_the_role_default_version() -> None:
    """The exporter built offline (tests/images/build.sh statsd-exporter) is the version of the role's default image."""
    env = _versions_env()
    default = load_yaml(REPO / "roles" / "airflow_core" / "defaults" / "main.yml")["airflow_core_statsd"]["image"]
    assert default == env["UPSTREAM_STATSD_EXPORTER_IMAGE"]
    assert default.endswith(":v" + env["STATSD_EXPORTER_VERSION"])
