"""A catalogue of bad inputs: each must stop playbooks/render.yml before any manifest is written,
with a message naming the offending (role-prefixed) variable and what is wrong.

Every case is a valid *base* configuration plus one bad change, passed as JSON with ``-e @file`` to
render.yml against inventories/local (render mode, no cluster). Each base alone must pass
playbooks/preflight.yml (the checks render.yml runs first), so every case fails for its own reason.
All runs start at once on a shared thread pool; each test then reads its own result.
"""

from __future__ import annotations

import functools
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lib.ansible_run import RENDER_PLAYBOOK, RunResult, manifest_files, run_playbook

PREFLIGHT_PLAYBOOK = "playbooks/preflight.yml"
from lib.specs import SHARED_VARIABLES, all_role_options

INVENTORY = "local"

# A storage role's claims replace airflow_core's, which the local inventory creates (pvc_create: true): with both, two
# claims of one name would be made, which the preflight refuses.
CORE_CLAIMS_OFF = {"airflow_core_dags": {"mode": "pvc", "pvc_create": False}, "airflow_core_logs": {"mode": "pvc", "pvc_create": False}}

# Valid starting points; each must pass the preflight checks (control).
BASES: dict[str, dict[str, Any]] = {
    "local": {},
    "nfs": {
        "airflow_storage_backend": "nfs",
        "storage_nfs_mode": "static",
        "storage_nfs_server": "10.0.0.5",
        "storage_nfs_export_path": "/srv/nfs/airflow",
        **CORE_CLAIMS_OFF,
    },
    "portworx": {"airflow_storage_backend": "portworx", **CORE_CLAIMS_OFF},
    "external_db": {
        "airflow_db_mode": "external",
        "airflow_db_external_host": "airflow.cluster-abc.eu-west-1.rds.amazonaws.com",
        "airflow_db_external_password": "correct-horse-battery-staple",
        "airflow_db_sslmode": "require",
    },
}

# Output that means the playbook crashed instead of refusing the input.
CRASH_MARKERS = ("Traceback (most recent call last)", "has no attribute", "AnsibleUndefinedVariable", "unhandled exception")


@dataclass(frozen=True)
class Case:
    id: str
    bad: dict[str, Any]
    variable: str  # regex: the role-prefixed variable the message must name
    phrases: tuple[str, ...]  # regexes (case-insensitive) that must all appear
    base: str = "local"
    extra_vars: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_vars", {**BASES[self.base], **self.bad})


NFS_VOLUMES = {"dags": {"size": "5Gi", "sub_path": "dags"}, "logs": {"size": "20Gi", "sub_path": "logs"}}

CASES: list[Case] = [
    Case("storage-backend-unknown", {"airflow_storage_backend": "ceph"},
         r"airflow_\w*storage_backend", (r"ceph", r"portworx")),
    Case("external-db-without-host", {"airflow_db_external_host": ""},
         r"airflow_db_external_host", (r"empty|required|must be set|missing",), base="external_db"),
    Case("external-db-without-password", {"airflow_db_external_password": "", "airflow_db_external_password_secret_name": ""},
         r"airflow_db_external_password", (r"empty|required|must be set|missing|no password",), base="external_db"),
    Case("nfs-volume-for-postgres", {"storage_nfs_volumes": {**NFS_VOLUMES, "postgres": {"size": "8Gi", "sub_path": "pg"}}},
         r"storage_nfs_volumes\.postgres", (r"NFS", r"Postgres|database"), base="nfs"),
    Case("nfs-static-without-server", {"storage_nfs_server": ""},
         r"storage_nfs_server", (r"empty",), base="nfs"),
    Case("nfs-relative-export-path", {"storage_nfs_export_path": "srv/nfs/airflow"},
         r"storage_nfs_export_path", (r"absolute",), base="nfs"),
    Case("nfs-sub-path-escapes-export", {"storage_nfs_volumes": {"dags": {"size": "5Gi", "sub_path": "../etc"}, "logs": NFS_VOLUMES["logs"]}},
         r"storage_nfs_volumes\.dags\.sub_path", (r"\.\./etc", r"relative path"), base="nfs"),
    Case("nfs-size-not-a-quantity", {"storage_nfs_volumes": {"dags": {"size": "5GB", "sub_path": "dags"}, "logs": NFS_VOLUMES["logs"]}},
         r"storage_nfs_volumes\.dags\.size", (r"5GB", r"quantity"), base="nfs"),
    Case("image-repository-malformed", {"airflow_image_repository": "Registry.Example.com/Apache/Airflow:3.3.2"},
         r"airflow_\w*image_repository", (r"Registry\.Example\.com", r"image repository|image reference")),
    Case("image-tag-malformed", {"airflow_image_tag": "3.3.2 final"},
         r"airflow_\w*image_tag", (r"3\.3\.2 final", r"image (tag|reference)")),
    Case("git-sync-without-repository", {"airflow_core_dags": {"mode": "git-sync"}, "airflow_core_gitsync": {"repo": ""}},
         r"airflow_core_gitsync\.repo", (r"git-sync", r"empty")),
    Case("airflow-2", {"airflow_version": "2.10.5", "airflow_image_tag": "2.10.5"},
         r"airflow_\w*version", (r"2\.10\.5", r"Airflow 3")),
    Case("airflow-4", {"airflow_version": "4.0.0", "airflow_image_tag": "4.0.0"},
         r"airflow_\w*version", (r"4\.0\.0", r"Airflow 3")),
    Case("namespace-invalid", {"airflow_namespace": "Airflow_Prod"},
         r"(airflow|storage)_\w*namespace", (r"Airflow_Prod", r"namespace")),
    Case("instance-invalid", {"airflow_instance": "Airflow!"},
         r"(airflow|storage)_\w*instance", (r"Airflow!", r"instance")),
    Case("sslmode-invalid", {"airflow_db_sslmode": "maybe"},
         r"airflow_db_sslmode", (r"maybe", r"verify-full")),
    Case("verify-full-without-ca", {"airflow_db_sslmode": "verify-full", "airflow_db_external_ca_bundle": ""},
         r"airflow_db_external_ca_bundle", (r"verify-full",), base="external_db"),
    Case("logs-mode-unknown", {"airflow_core_logs": {"mode": "s3"}},
         r"airflow_core_logs", (r"\bmode\b", r"\bs3\b", r"emptydir")),
    Case("logs-size-not-a-quantity", {"airflow_core_logs": {"mode": "pvc", "pvc_create": True, "pvc_size": "5GB"}},
         r"airflow_core_logs\.pvc_size", (r"5GB", r"quantity")),
    Case("replicas-negative", {"airflow_core_scheduler": {"replicas": -1}},
         r"airflow_core_scheduler\.replicas", (r"-1", r"0 or more")),
    Case("portworx-db-repl-1", {"storage_portworx_db_repl": 1},
         r"storage_portworx_\w*repl", (r"\brepl\b", r"[23]"), base="portworx"),
    Case("ingress-without-host", {"airflow_core_ingress": {"enabled": True, "host": ""}},
         r"airflow_core_ingress\.host", (r"ingress",)),
    Case("core-config-celery-executor", {"airflow_core_config": {"core": {"executor": "CeleryExecutor"}}},
         r"airflow_core_config\.core\.executor", (r"CeleryExecutor", r"KubernetesExecutor")),
    Case("core-config-writes-a-secret", {"airflow_core_config": {"core": {"fernet_key": "not-in-a-configmap"}}},
         r"airflow_core_config", (r"fernet_key", r"secret")),
    Case("image-pull-policy-invalid", {"airflow_core_image_pull_policy": "Sometimes"},
         r"airflow_core_image_pull_policy", (r"Sometimes", r"IfNotPresent")),
    Case("dag-mode-unknown", {"airflow_core_dags": {"mode": "s3"}},
         r"airflow_core_dags", (r"\bmode\b", r"\bs3\b", r"git-sync")),
    Case("admin-password-too-short", {"airflow_core_admin_password": "short"},
         r"airflow_core_admin_password", (r"at least 12",)),
    Case("rotate-item-unknown", {"airflow_core_rotate": ["fernet"]},
         r"airflow_core_rotate", (r"fernet", r"jwt_secret")),
    Case("db-rotate-item-unknown", {"airflow_db_rotate": ["user"]},
         r"airflow_db_rotate", (r"\buser\b", r"ca_bundle")),
    Case("statsd-without-legacy-names", {"airflow_core_statsd": {"enabled": True},
                                         "airflow_core_config": {"metrics": {"legacy_names_on": "False"}}},
         r"airflow_core_config\.metrics\.legacy_names_on", (r"False", r"legacy metric names")),
    Case("statsd-service-monitor-interval", {"airflow_core_statsd": {"enabled": True, "service_monitor_interval": "30 seconds"}},
         r"airflow_core_statsd\.service_monitor_interval", (r"30 seconds", r"Prometheus duration")),
    Case("statsd-extra-mapping-without-match", {"airflow_core_statsd": {"enabled": True, "extra_mappings": [{"name": "x"}]}},
         r"airflow_core_statsd\.extra_mappings", (r"match",)),
    # The FAB auth manager (airflow_core_fab): an unknown auth type, OIDC without its client secret Secret or discovery
    # URL, LDAP without a server URI, a role mapping that is not a map of lists
    Case("fab-auth-type-unknown", {"airflow_core_auth_manager": "fab", "airflow_core_fab": {"auth_type": "saml"}},
         r"airflow_core_fab", (r"saml", r"ldap", r"oauth")),
    Case("fab-oauth-without-client-secret",
         {"airflow_core_auth_manager": "fab",
          "airflow_core_fab": {"auth_type": "oauth", "oauth": {"client_id": "airflow",
                                                              "server_metadata_url": "https://sso.example.com/.well-known/openid-configuration"}}},
         r"airflow_core_fab\.provider_secret_ref\.name", (r"client secret", r"kubectl create secret")),
    Case("fab-oauth-without-discovery-url",
         {"airflow_core_auth_manager": "fab",
          "airflow_core_fab": {"auth_type": "oauth", "provider_secret_ref": {"name": "oidc", "key": "client-secret"},
                               "oauth": {"client_id": "airflow"}}},
         r"airflow_core_fab\.oauth", (r"server_metadata_url", r"well-known/openid-configuration")),
    Case("fab-ldap-without-server", {"airflow_core_auth_manager": "fab",
                                     "airflow_core_fab": {"auth_type": "ldap", "ldap": {"search": "ou=people,dc=example,dc=org"}}},
         r"airflow_core_fab\.ldap\.server", (r"LDAP server URI", r"ldaps://")),
    Case("fab-roles-mapping-not-lists", {"airflow_core_auth_manager": "fab",
                                         "airflow_core_fab": {"roles_mapping": {"airflow-admins": "Admin"}}},
         r"airflow_core_fab\.roles_mapping", (r"map of lists", r"Admin")),
    # Remote logging (airflow_core_remote_logging): the S3 location, the connection id and Secret, the policies' ports
    Case("remote-logging-without-s3-folder", {"airflow_core_remote_logging": {"enabled": True, "base_folder": "gs://logs/airflow"}},
         r"airflow_core_remote_logging\.base_folder", (r"gs://logs/airflow", r"s3://<bucket>")),
    Case("remote-logging-conn-id-not-an-env-name",
         {"airflow_core_remote_logging": {"enabled": True, "base_folder": "s3://airflow-logs", "conn_id": "my-logs"}},
         r"airflow_core_remote_logging\.conn_id", (r"my-logs", r"AIRFLOW_CONN_")),
    Case("remote-logging-secret-without-key",
         {"airflow_core_remote_logging": {"enabled": True, "base_folder": "s3://airflow-logs",
                                          "connection_secret_ref": {"name": "airflow-remote-logs"}}},
         r"airflow_core_remote_logging\.connection_secret_ref", (r"airflow-remote-logs", r"create secret generic")),
    Case("remote-logging-secret-of-the-role",
         {"airflow_core_remote_logging": {"enabled": True, "base_folder": "s3://airflow-logs",
                                          "connection_secret_ref": {"name": "airflow-secrets", "key": "connection"}}},
         r"airflow_core_remote_logging\.connection_secret_ref", (r"not one the role writes",)),
    Case("remote-logging-egress-port-out-of-range",
         {"airflow_core_remote_logging": {"enabled": True, "base_folder": "s3://airflow-logs"},
          "airflow_core_network_policies": {"enabled": True, "remote_logging_egress_ports": [0]}},
         r"airflow_core_network_policies\.remote_logging_egress_ports", (r"1-65535",)),
    Case("remote-logging-egress-without-remote-logging",
         {"airflow_core_network_policies": {"enabled": True,
                                            "remote_logging_egress_to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}},
         r"airflow_core_network_policies\.remote_logging_egress_to", (r"remote logging on",)),
    # One check task per role reports every failing rule, not only the first.
    Case("core-two-errors-reported-together", {"airflow_core_admin_password": "short", "airflow_core_admin_username": "a b"},
         r"airflow_core_admin_password", (r"at least 12", r"airflow_core_admin_username=\W*a b", r"2 input errors")),
    Case("nfs-two-errors-reported-together", {"storage_nfs_server": "", "storage_nfs_export_path": "srv"},
         r"storage_nfs_server", (r"empty", r"storage_nfs_export_path=\W*srv", r"2 input errors"), base="nfs"),
    Case("portworx-two-errors-reported-together",
         {"storage_portworx_shared_storage_class_name": "Bad_Name", "storage_portworx_volumes": {"dags": {"size": "5GB"}, "logs": {"size": "20Gi"}}},
         r"storage_portworx_shared_storage_class_name=\W*Bad_Name", (r"storage_portworx_volumes\.dags\.size\W*5GB", r"2 input errors"),
         base="portworx"),
    Case("postgres-image-without-major", {"airflow_db_postgres_image": "postgres:latest"},
         r"airflow_db_postgres_major", (r"postgres:latest", r"major version")),
    Case("postgres-major-differs-from-tag", {"airflow_db_postgres_image": "postgres:16", "airflow_db_postgres_major": "15"},
         r"airflow_db_postgres_major", (r"\b15\b", r"\b16\b", r"differs")),
    Case("backup-reason-not-a-slug", {"airflow_db_backup_reason": "before upgrade!"},
         r"airflow_db_backup_reason", (r"before upgrade!", r"slug")),
    Case("backup-keep-zero", {"airflow_db_backup_keep": 0},
         r"airflow_db_backup_keep", (r"1 or more",)),
    Case("db-two-errors-reported-together", {"airflow_db_postgres_storage_size": "lots", "airflow_db_postgres_user": "1user"},
         r"airflow_db_postgres_storage_size", (r"lots", r"airflow_db_postgres_user=\W*1user", r"2 input errors")),
]


def test_catalogue_is_large_and_unique() -> None:
    assert len(CASES) >= 20
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len({repr(sorted(c.extra_vars.items())) for c in CASES}) == len(CASES), "two cases send the same input"


# ------------------------------------------------------------------------------------------ runner


@dataclass(frozen=True)
class Outcome:
    result: RunResult
    render_dir: Path
    files: list[Path]


def _jobs() -> int:
    return int(os.environ.get("AIRFLOW_K8S_TEST_JOBS", max(2, min(8, 2 * (os.cpu_count() or 1)))))


class BadInputRunner:
    """Runs every selected case and every base control once, all at once, on a thread pool."""

    def __init__(self, base_dir: Path, cases: list[Case], bases: list[str]) -> None:
        self._base_dir = base_dir
        self._pool = ThreadPoolExecutor(max_workers=_jobs())
        self._futures: dict[str, Future[Outcome]] = {}
        for case in cases:
            self._submit(case.id, RENDER_PLAYBOOK, case.extra_vars)
        for name in bases:
            self._submit(f"base-{name}", PREFLIGHT_PLAYBOOK, BASES[name])

    def _submit(self, key: str, playbook: str, extra_vars: dict[str, Any]) -> None:
        if key not in self._futures:
            self._futures[key] = self._pool.submit(self._run, key, playbook, extra_vars)

    def _run(self, key: str, playbook: str, extra_vars: dict[str, Any]) -> Outcome:
        render_dir = self._base_dir / key
        render_dir.mkdir()
        result = run_playbook(playbook, INVENTORY, render_dir=render_dir, extra_vars=extra_vars, timeout=300)
        return Outcome(result, render_dir, manifest_files(render_dir))

    def base(self, name: str) -> Outcome:
        self._submit(f"base-{name}", PREFLIGHT_PLAYBOOK, BASES[name])
        return self._futures[f"base-{name}"].result()

    def case(self, case: Case) -> Outcome:
        self._submit(case.id, RENDER_PLAYBOOK, case.extra_vars)
        return self._futures[case.id].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def bad_input_runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    params = [item.callspec.params for item in request.session.items if hasattr(item, "callspec")]
    cases = [p["case"] for p in params if isinstance(p.get("case"), Case)]
    bases = sorted({p["base"] for p in params if p.get("base") in BASES} | {c.base for c in cases})
    runner = BadInputRunner(tmp_path_factory.mktemp("bad-input"), cases, bases)
    yield runner
    runner.close()


# ------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("base", sorted(BASES))
def test_base_configuration_passes_preflight(bad_input_runner: BadInputRunner, base: str) -> None:
    """Control: without the bad change the checks pass, so each case fails for its own reason."""
    outcome = bad_input_runner.base(base)
    assert outcome.result.returncode == 0, f"base {base!r} must pass the checks:\n{outcome.result.describe()}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_before_anything_is_written(bad_input_runner: BadInputRunner, case: Case) -> None:
    outcome = bad_input_runner.case(case)
    result = outcome.result
    assert result.returncode != 0, f"accepted bad input {case.bad}:\n{result.describe()}"
    crash = [m for m in CRASH_MARKERS if m in result.output]
    assert not crash, f"the playbook crashed ({crash}) instead of refusing the input:\n{result.describe()}"
    assert re.search(case.variable, result.output), f"the output does not name /{case.variable}/:\n{result.describe()}"
    for phrase in case.phrases:
        assert re.search(phrase, result.output, re.IGNORECASE), f"the output lacks /{phrase}/:\n{result.describe()}"
    written = [str(p.relative_to(outcome.render_dir)) for p in outcome.files]
    assert not written, f"manifests were written before the input was refused: {written}"


@functools.lru_cache(maxsize=1)
def _role_options() -> dict[str, Any]:
    return all_role_options()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_targets_a_documented_variable(case: Case) -> None:
    """A misspelt variable would be ignored silently; every variable a case sets must exist."""
    options = _role_options()
    unknown = [k for k in case.extra_vars if k not in options and k not in SHARED_VARIABLES]
    assert not unknown, f"not a role option nor a shared variable: {unknown}"
