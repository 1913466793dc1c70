# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The input rules regexes cannot express (plugin_utils/input_rules.py): real types, values as data, airflow.cfg,
env entries, resources and object names. tests/test_generated_bad_input.py runs them through render.yml."""

from __future__ import annotations

import pytest

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import input_rules as r

SPEC = {
    "x_enabled": {"type": "bool"},
    "x_port": {"type": "int"},
    "x_list": {"type": "list", "elements": "str"},
    "x_name": {"type": "str"},
    "x_secret": {"type": "int", "no_log": True},
    "x_dict": {"type": "dict", "options": {"on": {"type": "bool"}, "peers": {"type": "list", "elements": "dict",
                                                                           "options": {"n": {"type": "int"}}}}},
}


@pytest.mark.parametrize(("name", "value", "phrase"), [
    ("x_enabled", "false", 'x_enabled="false" is a string, not a boolean'),
    ("x_enabled", 1, "x_enabled=1 is a number, not a boolean"),
    ("x_port", "8080", 'x_port="8080" is a string, not a whole number'),
    ("x_port", True, "x_port=true is a boolean, not a whole number"),
    ("x_list", "a,b", 'x_list="a,b" is a string, not a list'),
    ("x_name", {"a": 1}, "is a dictionary, not a string"),
    ("x_dict", "on=true", 'x_dict="on=true" is a string, not a dictionary'),
    ("x_dict", {"on": "no"}, 'x_dict.on="no" is a string, not a boolean'),
    ("x_dict", {"peers": [{"n": "1"}]}, 'x_dict.peers[0].n="1" is a string'),
])
def test_type_problems_refuse_converted_values(name, value, phrase) -> None:
    problems = r.type_problems(SPEC, {name: value})
    assert len(problems) == 1 and phrase in problems[0], problems


def test_type_problems_accept_real_types_and_hide_secrets() -> None:
    assert r.type_problems(SPEC, {"x_enabled": False, "x_port": 8080, "x_list": ["a"], "x_name": "n",
                                  "x_dict": {"on": True, "peers": [{"n": 1}]}, "x_other": "ignored"}) == []
    (problem,) = r.type_problems(SPEC, {"x_secret": "s3cret-value"})
    assert "s3cret-value" not in problem and "not shown" in problem


def test_template_problems_only_nested_trusted_strings() -> None:
    value = {"core": {"a": "{{ 7 * 6 }}", "b": "plain", "c": "{% raw %}"}, "list": ["{# x #}"]}
    problems = r.template_problems("v", value, lambda s: True)
    assert [p.split(" ")[0] for p in problems] == ["v.core.a", "v.core.c", "v.list[0]"]
    assert "7 * 6" not in " ".join(problems), "the message names the path, not the template"
    assert r.template_problems("v", value, lambda s: False) == [], "an !unsafe string stays literal and passes"
    assert r.template_problems("v", "{{ other_variable }}", lambda s: True) == [], "the variable itself may be a template"


@pytest.mark.parametrize(("text", "number"), [("250m", 0.25), ("1Gi", 2**30), ("1.5", 1.5), ("1e3", 1000.0), (2, 2.0)])
def test_quantity(text, number) -> None:
    assert r.quantity(text) == pytest.approx(number)


@pytest.mark.parametrize("text", ["1GB", "250 millicores", "", "Gi", True, None, "1.2.3"])
def test_not_a_quantity(text) -> None:
    assert r.quantity(text) is None


def test_config_problems() -> None:
    problems = r.config_problems({"core": {"Executor": "x", "ok": 1, "nl": "a\nfernet_key = b", "d": {}}, "Core": {}})
    text = "\n".join(problems)
    assert 'the key "Executor"' in text and "airflow_core_config.core.nl holds a line break" in text
    assert "airflow_core_config.core.d is a dictionary" in text and 'the section "Core"' in text
    assert len(problems) == 4
    assert r.config_problems({"core": {"parallelism": 64, "load_examples": False}}) == []


def test_env_problems() -> None:
    env = [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "CeleryExecutor"}, {"name": "AIRFLOW_HOME", "value": "/x"},
           {"name": "A", "value": "1"}, {"name": "a", "value": 2}, {"name": "B"}, {"name": "C D", "value": "1"},
           {"name": "AIRFLOW__API_AUTH__JWT_SECRET_CMD", "value": "cat /x"}, {"name": "OK", "valueFrom": {"secretKeyRef": {}}}]
    problems = r.env_problems(env, reserved=["AIRFLOW_HOME"], forbidden=[["api_auth", "jwt_secret"]])
    text = "\n".join(problems)
    for phrase in ("[0].name=\"AIRFLOW__CORE__EXECUTOR\" sets an airflow.cfg key", "[1].name=\"AIRFLOW_HOME\" is set by the role",
                   "[3].name=\"a\" appears twice", "[3].value (a) is a number", "[4] (B) needs exactly one of value",
                   "[5].name=\"C D\" is not", "[6].name=\"AIRFLOW__API_AUTH__JWT_SECRET_CMD\" sets"):
        assert phrase in text, f"{phrase}\n{text}"
    assert len(problems) == 7
    assert r.env_problems("x")[0].startswith("airflow_core_env=\"x\" must be a list")


def test_resources_problems() -> None:
    assert r.resources_problems({"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}, "res") == []
    assert r.resources_problems({}, "res") == []
    problems = r.resources_problems({"requests": {"cpu": "250 millicores", "memory": "2Gi"}, "limits": {"memory": "1Gi"},
                                     "limit": {}}, "res")
    text = "\n".join(problems)
    assert "res has the keys ['limit']" in text
    assert 'res.requests.cpu="250 millicores" is not a Kubernetes quantity' in text
    assert 'res.limits.memory="1Gi" is below res.requests.memory="2Gi"' in text


def test_name_problems() -> None:
    assert r.name_problems({"a": "", "b": "nginx", "c": ["x.y"]}) == []
    problems = r.name_problems({"a": "nginx\n  defaultBackend: x", "b": "A_B", "c": ["ok", ""], "d": "a" * 254})
    assert [p.split("=")[0] for p in problems] == ["a", "b", "c[1]", "d"]


def test_peers_problems() -> None:
    good = {"p": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}, {"namespaceSelector": {}},
                  {"ipBlock": {"cidr": "2001:db8::/64"}}]}
    assert r.peers_problems(good) == []
    problems = r.peers_problems({"p": [{"ipBlock": {"cidr": "10.0.0.300/8"}}, {"ipBlock": {"cidr": "10.0.0.1"}},
                                       {"ipblock": {}}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["x"]}}]})
    assert [p.split("=")[0] for p in problems] == ["p[0].ipBlock.cidr", "p[1].ipBlock.cidr", "p[2]", "p[3].ipBlock.except[0]"]
