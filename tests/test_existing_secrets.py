"""Secrets the user owns (airflow_core_existing_secrets), without a cluster.

Render mode cannot read the cluster: the manifests refer to the user's Secrets by name and the generated Secret leaves
those values out. Bad input (a conflict, a name that cannot be a Secret) and a rotation of a user-owned value are
refused before anything is written. The live half (a converge with user-provided Secrets, a second run changing
nothing, a missing Secret refused before any write) is in the report of the change that added this file and
extensions/molecule/default/verify_workers.yml's header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lib import checks
from lib.ansible_run import RENDER_PLAYBOOK, RunResult, manifest_files, run_playbook
from lib.manifests import container, find_workload, load_documents, name, of_kind, pod_template, worker_pod_templates

EXISTING = {
    "fernet_key": {"name": "airflow-keys", "key": "fernet"},
    "jwt_secret": {"name": "airflow-keys", "key": "jwt"},
    "api_secret_key": {"name": "airflow-api-key"},
    "admin_password": {"name": "airflow-admin", "key": "password"},
}
ENV_OF = {"fernet_key": "AIRFLOW__CORE__FERNET_KEY", "jwt_secret": "AIRFLOW__API_AUTH__JWT_SECRET",
          "api_secret_key": "AIRFLOW__API__SECRET_KEY"}
GENERATED_KEY = {"fernet_key": "fernet-key", "jwt_secret": "jwt-secret", "api_secret_key": "api-secret-key",
                 "admin_password": "admin-password"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    render_dir = tmp_path_factory.mktemp("existing")
    # A kubeconfig pointing nowhere: render mode must not need the cluster to refer to the user's Secrets.
    result = run_playbook(RENDER_PLAYBOOK, "local", render_dir=render_dir,
                          extra_vars={"airflow_core_existing_secrets": EXISTING},
                          env={"KUBECONFIG": str(render_dir / "no-such-kubeconfig")})
    assert result.returncode == 0, result.describe()
    return [d.obj for d in load_documents(manifest_files(render_dir))]


def _refs(c: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})}


def test_components_refer_to_the_users_secrets(rendered: list[dict[str, Any]]) -> None:
    expected = {env: {"name": EXISTING[item]["name"], "key": EXISTING[item].get("key", GENERATED_KEY[item])}
                for item, env in ENV_OF.items()}
    seen = 0
    for component in ("scheduler", "api-server", "dag-processor", "triggerer"):
        deployment = find_workload(rendered, "Deployment", component)
        if deployment is None:
            continue
        refs = _refs(container(pod_template(deployment)["spec"], component))
        for env, ref in refs.items():
            if env in expected:
                assert ref == expected[env], f"{component}: {env} from {ref}, expected {expected[env]}"
                seen += 1
    assert seen >= 6, "the components hold fewer secrets than docs/security.md says"
    api = pod_template(find_workload(rendered, "Deployment", "api-server"))["spec"]
    init = next(c for c in api["initContainers"] if c["name"] == "auth-passwords")
    assert _refs(init)["AIRFLOW_K8S_ADMIN_PASSWORD"] == {"name": "airflow-admin", "key": "password"}
    assert not [v for v in api["volumes"] if (v.get("secret") or {}).get("secretName") == "airflow-secrets"]


def test_the_generated_secret_leaves_the_users_values_out(rendered: list[dict[str, Any]]) -> None:
    secrets = {name(s).split("/")[-1]: s for s in of_kind(rendered, "Secret")}
    assert not {"airflow-keys", "airflow-api-key", "airflow-admin"} & secrets.keys(), "the role writes the user's Secret"
    generated = secrets["airflow-secrets"].get("data") or {}
    assert not set(GENERATED_KEY.values()) & generated.keys(), sorted(generated)
    assert "simple-auth-passwords.json" not in generated


def test_worker_pods_still_hold_nothing(rendered: list[dict[str, Any]]) -> None:
    (_, pod), = worker_pod_templates(rendered)
    assert not checks.secret_env_names(container(pod["spec"], "base"))
    assert not _refs(container(pod["spec"], "base"))


def _refused(tmp: Path, label: str, playbook: str, extra_vars: dict[str, Any]) -> RunResult:
    render_dir = tmp / label
    result = run_playbook(playbook, "local", render_dir=render_dir, extra_vars=extra_vars, timeout=300)
    assert result.returncode != 0, result.describe()
    assert "Traceback" not in result.output, result.tail()
    assert not manifest_files(render_dir), "a refused input wrote manifests"
    return result


def test_bad_existing_secrets_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    result = _refused(tmp_path, "bad", RENDER_PLAYBOOK, {
        "airflow_core_admin_password": "a-password-from-the-inventory",
        "airflow_core_existing_secrets": {"admin_password": {"name": "Airflow_Admin"},
                                          "fernet_key": {"name": "keys", "key": "bad key"}},
    })
    out = result.output
    for phrase in ('names a Secret that is not a valid object name ("Airflow_Admin")',
                   'names a key that cannot be a Secret key ("bad key")',
                   "and airflow_core_admin_password are both set"):
        assert phrase in out, f"{phrase!r} not in:\n{result.tail()}"
    assert "a-password-from-the-inventory" not in out


def test_rotate_refuses_a_value_the_user_owns(tmp_path: Path) -> None:
    result = _refused(tmp_path, "rotate", "playbooks/rotate.yml", {
        "airflow_core_rotate": ["fernet_key", "admin_password"], "airflow_core_rotate_id": "2026-12-06",
        "airflow_core_existing_secrets": {"fernet_key": {"name": "airflow-keys"}},
    })
    assert ("airflow_core_rotate names fernet_key, which airflow_core_existing_secrets keeps in your own Secrets "
            "(airflow-keys)") in " ".join(result.output.split()), result.tail()
