"""The extension points of airflow_core (README "Extension points"), as rendered: playbooks/render.yml on
inventories/local with every extension point in use. The manifests validate against the Kubernetes schemas and
Pod Security restricted, every component and the worker pod template carry what applies to them (the worker pod
template stays free of the deployment's secrets), and bad values are refused by the preflight, naming the variable,
with no file written.

The live proof (the extra mount, sidecar and envFrom in the running scheduler and in a worker pod of a DAG run, the
label airflow_local_settings.py's pod_mutation_hook puts on worker pods) is extensions/molecule/shared/verify_extend.yml.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib import kubeval, pss
from lib.ansible_run import RENDER_PLAYBOOK, RunResult, manifest_files, run_playbook
from lib.manifests import container, load_documents, name, of_kind, pod_template, worker_pod_templates

Obj = dict[str, Any]

SECRET_VALUE = "extend-secret-value-never-shown"
LOCAL_SETTINGS = (
    "def pod_mutation_hook(pod):\n"
    "    pod.metadata.labels = {**(pod.metadata.labels or {}), 'example.com/mutated-by': 'local-settings'}\n"
)
SIDECAR = {"name": "shipper", "image": "registry.example.com/shipper:1", "args": ["--watch", "/scratch"],
           "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}},
           "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}
INIT = {"name": "prepare", "command": ["sh", "-c", "true"], "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}
EGRESS_WORKER = {"ipBlock": {"cidr": "198.51.100.0/24"}}
EGRESS_SCHEDULER = {"ipBlock": {"cidr": "192.0.2.10/32"}}
EGRESS_TRIGGERER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "alerting"}}}
SPREAD = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
COMPONENTS = {  # variable: (component label, Deployment name or None for the worker pod template, main container)
    "airflow_core_scheduler": ("scheduler", "airflow-scheduler", "scheduler"),
    "airflow_core_api_server": ("api-server", "airflow-api-server", "api-server"),
    "airflow_core_dag_processor": ("dag-processor", "airflow-dag-processor", "dag-processor"),
    "airflow_core_triggerer": ("triggerer", "airflow-triggerer", "triggerer"),
    "airflow_core_statsd": ("statsd", "airflow-statsd", "statsd"),
    "airflow_core_workers": ("worker", None, "base"),
}


def component_extras(variable: str) -> Obj:
    comp = COMPONENTS[variable][0]
    return {
        "pod_labels": {"example.com/team": "data", "example.com/part": comp},
        "extra_volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}],
        "extra_volume_mounts": [{"name": "scratch", "mountPath": "/scratch"}],
        "extra_init_containers": [INIT],
        "extra_containers": [SIDECAR] if variable != "airflow_core_workers" else [],
        "env_from": [{"configMapRef": {"name": "team-settings"}, "prefix": "TEAM_"}],
        "topology_spread_constraints": [SPREAD],
        "priority_class_name": "team-high",
    }


FULL: Obj = {
    "airflow_core_extra_configmaps": {"team-settings": {"REGION": "eu", "settings.ini": "[team]\nname = data\n"}},
    "airflow_core_extra_secrets": {"team-token": {"TOKEN": SECRET_VALUE}},
    "airflow_core_env_from": [{"configMapRef": {"name": "team-settings"}}, {"secretRef": {"name": "team-token"}}],
    "airflow_core_extra_volumes": [{"name": "team-files", "configMap": {"name": "team-settings"}}],
    "airflow_core_extra_volume_mounts": [{"name": "team-files", "mountPath": "/opt/team", "readOnly": True}],
    "airflow_core_local_settings": LOCAL_SETTINGS,
    # per-component egress: the worker pods, the scheduler and the triggerer get theirs, the dag-processor none
    "airflow_core_network_policies": {"enabled": True, "workers_egress_to": [EGRESS_WORKER],
                                      "scheduler_egress_to": [EGRESS_SCHEDULER],
                                      "triggerer_egress_to": [EGRESS_TRIGGERER]},
    "airflow_core_statsd": {"enabled": True, **component_extras("airflow_core_statsd"),
                            "probes": {"readiness": {"timeoutSeconds": 3}}},
    "airflow_core_scheduler": {**component_extras("airflow_core_scheduler"),
                               "probes": {"liveness": {"periodSeconds": 45, "initialDelaySeconds": 10}}},
    "airflow_core_api_server": {**component_extras("airflow_core_api_server"), "service_type": "NodePort", "node_port": 30080},
    "airflow_core_dag_processor": {**component_extras("airflow_core_dag_processor"),
                                   "probes": {"liveness": {"timeoutSeconds": 90}}},
    "airflow_core_triggerer": {**component_extras("airflow_core_triggerer")},
    "airflow_core_workers": {
        **component_extras("airflow_core_workers"),
        "termination_grace_period_seconds": 120,
        # a native sidecar (restartPolicy Always): it ends with the task, so the worker pod completes
        "extra_init_containers": [INIT, {**SIDECAR, "name": "worker-shipper", "restartPolicy": "Always"}],
        "pod_template": {
            "metadata": {"annotations": {"example.com/override": "yes"}},
            "spec": {"priorityClassName": "batch-low",
                     "containers": [{"name": "base", "env": [{"name": "FROM_OVERRIDE", "value": "yes"}]}]},
        },
    },
}
REPLACE: Obj = {
    # two schedulers and no spread of the user's: the role's soft spread over nodes
    "airflow_core_scheduler": {"replicas": 2},
    "airflow_core_workers": {
        "pod_template_mode": "replace",
        "pod_template": {"spec": {"containers": [{"name": "base", "image": "registry.example.com/airflow:team"}],
                                  "restartPolicy": "Never"}},
    },
}
ROLE_SECRETS = {"airflow-secrets", "airflow-metadata-db", "airflow-metadata-db-ca"}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunResult, list[Obj]]]:
    base = tmp_path_factory.mktemp("extend")

    def render(key: str, extra: Obj) -> tuple[RunResult, list[Obj]]:
        folder = base / key
        folder.mkdir()
        result = run_playbook(RENDER_PLAYBOOK, "local", render_dir=folder, extra_vars=extra, timeout=900)
        assert result.returncode == 0, f"render {key} failed:\n{result.tail()}"
        return result, [d.obj for d in load_documents(manifest_files(folder))]

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(render, key, extra) for key, extra in (("full", FULL), ("replace", REPLACE))}
        return {key: f.result() for key, f in futures.items()}


def _objects(renders: dict[str, tuple[RunResult, list[Obj]]], key: str = "full") -> list[Obj]:
    return renders[key][1]


def _pod(objects: list[Obj], variable: str) -> tuple[Obj, Obj]:
    """(pod metadata, pod spec) of a component, or of the worker pod template."""
    deployment = COMPONENTS[variable][1]
    if deployment is None:
        pods = worker_pod_templates(objects)
        assert len(pods) == 1
        return pods[0][1]["metadata"], pods[0][1]["spec"]
    found = [d for d in of_kind(objects, "Deployment") if name(d) == deployment]
    assert len(found) == 1, deployment
    template = pod_template(found[0])
    return template["metadata"], template["spec"]


def test_per_component_egress(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    """Each component's extra egress is its own NetworkPolicy selecting that component's pods only; an empty list
    makes none (the dag-processor here, and every component in the render without the lists)."""
    policies = {name(d): d for d in of_kind(_objects(renders), "NetworkPolicy")}
    for component, peer in (("worker", EGRESS_WORKER), ("scheduler", EGRESS_SCHEDULER), ("triggerer", EGRESS_TRIGGERER)):
        policy = policies.get(f"airflow-{component}-egress")
        assert policy is not None, sorted(policies)
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
        assert policy["spec"]["policyTypes"] == ["Egress"]
        assert policy["spec"]["egress"] == [{"to": [peer]}]
    assert "airflow-dag-processor-egress" not in policies
    assert "airflow-api-server-egress" not in policies
    replaced = {name(d) for d in of_kind(_objects(renders, "replace"), "NetworkPolicy")}
    assert not {p for p in replaced if p.endswith("-egress")}, sorted(replaced)


@pytest.mark.parametrize("version", kubeval.KUBERNETES_VERSIONS)
def test_full_render_validates(renders: dict[str, tuple[RunResult, list[Obj]]], version: str) -> None:
    errors = []
    for key in ("full", "replace"):
        for obj in _objects(renders, key):
            reason = kubeval.validate(obj, version)
            if reason:
                errors.append(f"{key}: {obj['kind']} {name(obj)}: {reason}")
            for part, pod in pss.embedded_pods(obj):
                reason = kubeval.validate(pod, version)
                if reason:
                    errors.append(f"{key}: {name(obj)}[{part}]: {reason}")
    assert not errors, "\n".join(errors)


def test_full_render_meets_restricted(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    for key in ("full", "replace"):
        objects = _objects(renders, key)
        pods = [p for o in objects for p in pss.pods_in(o)]
        assert len(pods) >= 6, [p.name for p in pods]
        violations = pss.check_objects(objects)
        assert not violations, f"{key}:\n" + "\n".join(str(v) for v in violations)


@pytest.mark.parametrize("variable", list(COMPONENTS))
def test_each_pod_carries_its_extensions(renders: dict[str, tuple[RunResult, list[Obj]]], variable: str) -> None:
    comp, _, main_name = COMPONENTS[variable]
    metadata, spec = _pod(_objects(renders), variable)
    airflow = variable != "airflow_core_statsd"
    # labels: the user's beside the role's, which win
    assert metadata["labels"]["example.com/part"] == comp
    assert metadata["labels"]["app.kubernetes.io/component"] == comp
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["scratch"] == {"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}
    assert ("team-files" in volumes) is airflow, "airflow_core_extra_volumes: Airflow pods only"
    main = container(spec, main_name)
    assert main is not None and spec["containers"][0]["name"] == main_name
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    assert mounts["/scratch"] == "scratch"
    assert ("/opt/team" in mounts) is airflow
    env_from = main.get("envFrom", [])
    assert {"configMapRef": {"name": "team-settings"}, "prefix": "TEAM_"} in env_from
    assert ({"secretRef": {"name": "team-token"}} in env_from) is airflow
    # every mount names a volume of the pod
    for c in spec["containers"] + spec.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes, f"{c['name']} mounts {m['name']}"
    # init containers after the role's; sidecars after the main container; the role's security context under theirs
    inits = [c["name"] for c in spec.get("initContainers", [])]
    assert "prepare" in inits and inits.index("prepare") == (len(inits) - (2 if comp == "worker" else 1))
    added = [c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] in ("prepare", "shipper", "worker-shipper")]
    assert len(added) == 2
    for c in added:
        assert c["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
    prepare = next(c for c in added if c["name"] == "prepare")
    assert prepare["image"].split(":")[0].endswith("airflow"), "an added container without image gets the Airflow image"
    spread = spec["topologySpreadConstraints"]
    assert spread == [{**SPREAD, "labelSelector": {"matchLabels": {
        "app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": comp}}}]
    # the worker pod template override (FULL) sets its own priorityClassName over the variable's
    assert spec["priorityClassName"] == ("batch-low" if comp == "worker" else "team-high")
    if comp == "worker":
        assert spec["terminationGracePeriodSeconds"] == 120


def test_several_replicas_spread_over_nodes_by_default(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    objects = _objects(renders, "replace")
    selector = {"matchLabels": {"app.kubernetes.io/name": "airflow", "app.kubernetes.io/instance": "airflow",
                                "app.kubernetes.io/component": "scheduler"}}
    _, scheduler = _pod(objects, "airflow_core_scheduler")
    assert scheduler["topologySpreadConstraints"] == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                       "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}]
    _, triggerer = _pod(objects, "airflow_core_triggerer")  # one replica: no spread, no priority class
    assert "topologySpreadConstraints" not in triggerer and "priorityClassName" not in triggerer


def test_probe_timings_merge_over_the_defaults(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    objects = _objects(renders)
    scheduler = container(_pod(objects, "airflow_core_scheduler")[1], "scheduler")
    assert scheduler["livenessProbe"] == {"httpGet": {"path": "/health", "port": "health"}, "periodSeconds": 45,
                                          "timeoutSeconds": 10, "failureThreshold": 5, "initialDelaySeconds": 10}
    assert scheduler["startupProbe"] == {"httpGet": {"path": "/health", "port": "health"}, "periodSeconds": 2,
                                         "failureThreshold": 150}
    dag_processor = container(_pod(objects, "airflow_core_dag_processor")[1], "dag-processor")
    assert dag_processor["livenessProbe"]["timeoutSeconds"] == 90
    assert dag_processor["livenessProbe"]["periodSeconds"] == 60
    statsd = container(_pod(objects, "airflow_core_statsd")[1], "statsd")
    assert statsd["readinessProbe"] == {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 10,
                                        "timeoutSeconds": 3}
    api = container(_pod(objects, "airflow_core_api_server")[1], "api-server")
    assert api["livenessProbe"]["httpGet"]["path"] == "/execution/health"


def test_worker_pod_template_override_and_no_secret(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    metadata, spec = _pod(_objects(renders), "airflow_core_workers")
    assert metadata["annotations"] == {"example.com/override": "yes"}
    assert spec["priorityClassName"] == "batch-low"
    base = spec["containers"][0]
    assert base["name"] == "base"
    env = {e["name"]: e for e in base["env"]}
    assert env["FROM_OVERRIDE"]["value"] == "yes" and "AIRFLOW_HOME" in env, "merged by name, the role's env kept"
    assert base["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    sidecar = next(c for c in spec["initContainers"] if c["name"] == "worker-shipper")
    assert sidecar["restartPolicy"] == "Always"
    referenced = pss_secret_names(spec)
    assert not referenced & ROLE_SECRETS, referenced
    assert referenced == {"team-token"}, "the user's own Secret through airflow_core_env_from: the user's choice"


def pss_secret_names(spec: Obj) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key in ("secretKeyRef", "secretRef") and isinstance(sub, dict):
                    found.add(sub["name"])
                elif key == "secret" and isinstance(sub, dict):
                    found.add(sub.get("secretName", ""))
                walk(sub)
        elif isinstance(value, list):
            for sub in value:
                walk(sub)

    walk(spec)
    return found


def test_replacing_pod_template_keeps_the_role_guarantees(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    metadata, spec = _pod(_objects(renders, "replace"), "airflow_core_workers")
    assert [c["name"] for c in spec["containers"]] == ["base"]
    assert spec["containers"][0]["image"] == "registry.example.com/airflow:team"
    assert metadata["labels"]["app.kubernetes.io/component"] == "worker", "the NetworkPolicies select worker pods by it"
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False


def test_local_settings_reach_every_airflow_container(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    objects = _objects(renders)
    config = next(o for o in of_kind(objects, "ConfigMap") if name(o) == "airflow-config")
    assert config["data"]["airflow_local_settings.py"] == LOCAL_SETTINGS
    migrate = next(o for o in of_kind(objects, "ConfigMap") if name(o) == "airflow-migrate-config")
    assert migrate["data"]["airflow_local_settings.py"] == LOCAL_SETTINGS
    path = "/opt/airflow/config/airflow_local_settings.py"  # $AIRFLOW_HOME/config is on Airflow's sys.path
    checked = []
    pods = [(name(d), pod_template(d)["spec"]) for d in of_kind(objects, "Deployment") + of_kind(objects, "Job")
            if name(d) != "airflow-statsd" and d["metadata"]["labels"].get("app.kubernetes.io/component") != "postgres"]
    pods += [("worker", _pod(objects, "airflow_core_workers")[1])]
    for who, spec in pods:
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"] + spec.get("initContainers", []):
            # the user's containers, and auth-passwords (a plain Python script that imports no Airflow), aside
            if not c["image"].split(":")[0].endswith("airflow") or c["name"] in ("prepare", "shipper", "worker-shipper",
                                                                                  "auth-passwords"):
                continue
            mount = [m for m in c.get("volumeMounts", []) if m["mountPath"] == path]
            assert mount and mount[0]["subPath"] == "airflow_local_settings.py", f"{who}/{c['name']}"
            assert volumes[mount[0]["name"]]["configMap"]["name"] in ("airflow-config", "airflow-migrate-config")
            checked.append(f"{who}/{c['name']}")
    assert len(checked) >= 6, checked


def test_configmaps_and_secrets_written_for_the_user(renders: dict[str, tuple[RunResult, list[Obj]]]) -> None:
    result, objects = renders["full"]
    cm = next(o for o in of_kind(objects, "ConfigMap") if name(o) == "team-settings")
    assert cm["data"] == FULL["airflow_core_extra_configmaps"]["team-settings"]
    secret = next(o for o in of_kind(objects, "Secret") if name(o) == "team-token")
    assert set(secret["data"]) == {"TOKEN"}
    assert SECRET_VALUE not in result.output
    assert SECRET_VALUE not in yaml.safe_dump(objects)


# ------------------------------------------------------------------------------------------ refused at preflight

# One run holds every rule-level bad value (the preflight reports all failures at once); each entry: the text the
# message must contain (the variable's path first).
BAD: Obj = {
    "airflow_core_existing_secrets": {"fernet_key": {"name": "team-keys"}},
    "airflow_core_extra_volumes": [{"name": "host", "hostPath": {"path": "/etc"}}],
    "airflow_core_extra_volume_mounts": [{"name": "nowhere", "mountPath": "/x"}],
    "airflow_core_env_from": [{"secretRef": {"name": "team-keys"}}],
    "airflow_core_extra_configmaps": {"airflow-config": {"a": "b"}},
    "airflow_core_extra_secrets": {"team-token": {"TOKEN": 12345678987}},
    "airflow_core_scheduler": {
        "extra_containers": [{"name": "scheduler", "image": "x", "securityContext": {"privileged": True}}],
        "extra_volumes": [{"name": "config", "emptyDir": {}}],
        "pod_labels": {"app.kubernetes.io/component": "other"},
        "probes": {"liveness": {"periodSeconds": 0}, "bogus": {}},
    },
    "airflow_core_api_server": {"extra_init_containers": [{"name": "root", "securityContext": {"runAsUser": 0}}]},
    "airflow_core_dag_processor": {"extra_containers": [{"name": "net", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
                                   "extra_volumes": [{"name": "Bad_Name", "emptyDir": {}}]},
    "airflow_core_triggerer": {"extra_containers": [{"name": "esc", "securityContext": {"allowPrivilegeEscalation": True}}]},
    "airflow_core_statsd": {"topology_spread_constraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"}]},
    "airflow_core_workers": {
        "env_from": [{"secretRef": {"name": "airflow-secrets"}}],
        "extra_volumes": [{"name": "db", "secret": {"secretName": "airflow-metadata-db"}}],
        "pod_template": {"spec": {"hostNetwork": True, "containers": [{"name": "other", "image": "x"}]}},
        "pod_template_mode": "replace",
    },
}
EXPECTED = [
    "airflow_core_extra_volumes[0] (host) uses hostPath",
    "airflow_core_extra_volume_mounts[0].name=\"nowhere\" is not a volume",
    "airflow_core_env_from[0].secretRef.name=\"team-keys\" holds a secret of the deployment",
    "airflow_core_extra_configmaps.airflow-config is an object of the role's own",
    "airflow_core_extra_secrets.team-token.TOKEN=(a value, not shown)",
    "airflow_core_scheduler.extra_containers[0].name=\"scheduler\" is a container of the role's own",
    "airflow_core_scheduler.extra_containers[0].securityContext.privileged=true",
    "airflow_core_scheduler.extra_volumes[0].name=\"config\" is a volume of the role's own",
    "airflow_core_scheduler.pod_labels.app.kubernetes.io/component is a label the role sets",
    "airflow_core_scheduler.probes.liveness.periodSeconds=0",
    "airflow_core_scheduler.probes.bogus: this container has no such probe",
    "airflow_core_api_server.extra_init_containers[0].securityContext.runAsUser=0",
    "airflow_core_dag_processor.extra_containers[0].securityContext.capabilities.add=[\"NET_ADMIN\"]",
    "airflow_core_dag_processor.extra_volumes[0].name=\"Bad_Name\" is not a DNS-1123 label",
    "airflow_core_triggerer.extra_containers[0].securityContext.allowPrivilegeEscalation=true",
    "airflow_core_statsd.topology_spread_constraints[0].whenUnsatisfiable=\"Sometimes\"",
    "airflow_core_workers.env_from[0].secretRef.name=\"airflow-secrets\" is a Secret of the role's",
    "airflow_core_workers refers to the Secrets airflow-metadata-db",
    "airflow_core_workers.pod_template.spec.hostNetwork=true",
    "airflow_core_workers.pod_template: a replacing worker pod template needs a container named base",
]
# Values are data: a template inside an extension point is refused before any rule evaluates it
TEMPLATED: Obj = {"airflow_core_extra_volumes": [{"name": "x", "configMap": {"name": "{{ lookup('env', 'HOME') }}"}}]}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunResult, list[Path]]]:
    base = tmp_path_factory.mktemp("extend-bad")

    def render(key: str, extra: Obj) -> tuple[RunResult, list[Path]]:
        folder = base / key
        folder.mkdir()
        result = run_playbook(RENDER_PLAYBOOK, "local", render_dir=folder, extra_vars=extra, timeout=600)
        return result, manifest_files(folder)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(render, key, extra) for key, extra in (("bad", BAD), ("templated", TEMPLATED))}
        return {key: f.result() for key, f in futures.items()}


@pytest.mark.parametrize("expected", EXPECTED, ids=[e.split("=")[0].split(" ")[0] for e in EXPECTED])
def test_bad_extension_is_refused(refused: dict[str, tuple[RunResult, list[Path]]], expected: str) -> None:
    result, files = refused["bad"]
    assert result.returncode != 0
    assert not files, f"files written before the refusal: {files}"
    text = " ".join(result.output.replace("\\n", "\n").replace('\\"', '"').split())
    assert expected in text, f"not refused: {expected}\n{result.tail(40)}"


def test_secret_values_are_not_shown_when_refused(refused: dict[str, tuple[RunResult, list[Path]]]) -> None:
    result, _ = refused["bad"]
    assert "12345678987" not in result.output


def test_template_in_an_extension_point_is_refused(refused: dict[str, tuple[RunResult, list[Path]]]) -> None:
    result, files = refused["templated"]
    assert result.returncode != 0 and not files
    assert "airflow_core_extra_volumes[0].configMap.name holds template syntax" in result.output
