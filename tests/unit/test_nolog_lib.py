"""Proves the static no_log check (tests/lib/nolog.py) flags what it must and accepts what it may."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lib import nolog

ROLE = "airflow_db"


def task(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


NEEDS_NO_LOG = {
    "k8s_info Secret": """
        kubernetes.core.k8s_info:
          kind: Secret
          name: "{{ airflow_db_instance }}-metadata-db"
    """,
    "kube_read with a Secret query": """
        airflow_k8s.platform.kube_read:
          queries:
            classes: {kind: StorageClass, api_version: storage.k8s.io/v1}
            credentials: {kind: Secret, namespace: airflow, name: airflow-db}
    """,
    "k8s inline Secret definition": """
        kubernetes.core.k8s:
          definition: {apiVersion: v1, kind: Secret, metadata: {name: x}}
    """,
    "password variable in args": """
        ansible.builtin.set_fact:
          _uri: "postgresql://u:{{ airflow_db_external_password | urlencode }}@h/db"
    """,
    "secret-named key": """
        ansible.builtin.set_fact:
          _airflow_db_fernet_key: "x"
    """,
    "generated secret via lookup literal": """
        ansible.builtin.set_fact:
          _x: "{{ lookup('airflow_k8s.platform.random_secret', 'hex') }}"
    """,
    "vars reference": """
        ansible.builtin.include_role:
          name: airflow_k8s.platform.kube_apply
        vars:
          kube_apply_objects: "{{ _airflow_db_secret_objects }}"
    """,
    "debug var": """
        ansible.builtin.debug:
          var: airflow_db_external_password
    """,
    "loop over tokens": """
        ansible.builtin.debug:
          msg: "{{ item }}"
        loop: "{{ _airflow_core_jwt_tokens }}"
    """,
    "assert message printing the value": """
        ansible.builtin.assert:
          that: airflow_db_external_password | length > 8
          fail_msg: "password {{ airflow_db_external_password }} is too short"
    """,
    "connection string": """
        ansible.builtin.set_fact:
          _airflow_db_connection: "{{ _uri }}"
    """,
}

NO_SECRET = {
    "plain k8s ConfigMap": """
        kubernetes.core.k8s:
          definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}
    """,
    "assert only conditions on a password": """
        ansible.builtin.assert:
          that: airflow_db_external_password | length > 0
          fail_msg: "airflow_db_external_password is empty: set it in the vault"
    """,
    "assert message with a length": """
        ansible.builtin.assert:
          that: _airflow_db_password_length | int >= 12
          fail_msg: "{{ 'airflow_db_external_password is ' ~ _airflow_db_password_length ~ ' characters' }}"
    """,
    "secret name, not value": """
        ansible.builtin.debug:
          msg: "using {{ _airflow_db_secret_name }}"
    """,
}


@pytest.mark.parametrize("text", NEEDS_NO_LOG.values(), ids=NEEDS_NO_LOG.keys())
def test_secret_task_without_no_log_is_flagged(text: str) -> None:
    t = task(text)
    assert nolog.secret_reasons(t), "should need no_log"
    assert not nolog.hides_output(t, ROLE)


@pytest.mark.parametrize("text", NEEDS_NO_LOG.values(), ids=NEEDS_NO_LOG.keys())
@pytest.mark.parametrize("value", [True, "{{ airflow_db_no_log }}", "{{airflow_db_no_log}}"])
def test_secret_task_with_no_log_passes(text: str, value: Any) -> None:
    t = task(text)
    t["no_log"] = value
    assert nolog.hides_output(t, ROLE)


@pytest.mark.parametrize("value", [False, "{{ airflow_core_no_log }}", "{{ airflow_db_no_log | default(false) }}", None])
def test_wrong_no_log_values_fail(value: Any) -> None:
    t = task(NEEDS_NO_LOG["k8s_info Secret"])
    t["no_log"] = value
    assert not nolog.hides_output(t, ROLE)


def test_kube_apply_include_may_pass_its_no_log_variable() -> None:
    t = task(NEEDS_NO_LOG["vars reference"])
    t["vars"]["kube_apply_no_log"] = "{{ airflow_db_no_log }}"
    assert nolog.hides_output(t, ROLE)


@pytest.mark.parametrize("text", NO_SECRET.values(), ids=NO_SECRET.keys())
def test_tasks_without_secrets_are_not_flagged(text: str) -> None:
    assert nolog.secret_reasons(task(text)) == []


def test_blocks_are_descended() -> None:
    tasks = yaml.safe_load("""
        - name: outer
          block:
            - name: inner
              kubernetes.core.k8s_info: {kind: Secret, name: x}
          rescue:
            - name: rescue
              ansible.builtin.debug: {msg: hi}
    """)
    assert [t["name"] for t in nolog.iter_tasks(tasks)] == ["inner", "rescue"]


def test_secret_templates_are_found_through_role_variables(tmp_path) -> None:
    role = tmp_path / "airflow_db"
    (role / "templates" / "conn").mkdir(parents=True)
    (role / "vars").mkdir()
    (role / "templates" / "conn" / "secret.yaml.j2").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    (role / "templates" / "conn" / "cm.yaml.j2").write_text("apiVersion: v1\nkind: ConfigMap\n")
    (role / "vars" / "main.yml").write_text("_airflow_db_objs:\n  - conn/cm.yaml.j2\n  - conn/secret.yaml.j2\n_airflow_db_cms: [conn/cm.yaml.j2]\n")
    via_variable = task("""
        kubernetes.core.k8s:
          definition: "{{ query('ansible.builtin.template', *_airflow_db_objs) | map('from_yaml') | list }}"
    """)
    literal = task("""
        ansible.builtin.include_role: {name: airflow_k8s.platform.kube_apply}
        vars:
          kube_apply_objects: "{{ [lookup('ansible.builtin.template', 'conn/secret.yaml.j2') | from_yaml] }}"
    """)
    harmless = task("""
        kubernetes.core.k8s:
          definition: "{{ query('ansible.builtin.template', *_airflow_db_cms) | map('from_yaml') | list }}"
    """)
    assert nolog.secret_reasons(via_variable, role) == ["renders Secret templates conn/secret.yaml.j2"]
    assert nolog.secret_reasons(literal, role)[0] == "renders Secret templates conn/secret.yaml.j2"
    assert nolog.secret_reasons(harmless, role) == []
