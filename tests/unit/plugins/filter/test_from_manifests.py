# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the airflow_k8s.platform.from_manifests filter (plugins/filter/manifests.py): it must give what
map('from_yaml') | select | flatten(levels=1) gave, which every phase used before."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from ansible.plugins.filter.core import from_yaml

_PLUGIN = Path(__file__).resolve().parents[4] / "plugins" / "filter" / "manifests.py"
_spec = importlib.util.spec_from_file_location("airflow_k8s_manifests", _PLUGIN)
assert _spec is not None and _spec.loader is not None
plugin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plugin)

# The shapes our templates render: block YAML with flow JSON inside, a list of objects, an empty render.
RENDERED = [
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {"app.kubernetes.io/name": "airflow"}\n'
    'spec:\n  ports: [{"name": "http", "port": 8080}]\n  publishNotReadyAddresses: yes\n',
    '- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: b}\n\n- apiVersion: v1\n  kind: ServiceAccount\n'
    '  metadata: {name: c}\n',
    '\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata:\n  airflow.cfg: |\n    [core]\n    x = 1\n'
    '  number: "0600"\n  octal: 0600\n',
]


def _as_before(rendered: list[str]) -> list:
    docs = [d for d in (from_yaml(r) for r in rendered) if d]
    flat = []
    for doc in docs:
        flat.extend(doc if isinstance(doc, list) else [doc])
    return flat


def test_same_objects_as_from_yaml_select_flatten() -> None:
    assert plugin.from_manifests(RENDERED) == _as_before(RENDERED)
    names = [o["metadata"]["name"] for o in plugin.from_manifests(RENDERED)]
    assert names == ["a", "b", "c", "d"]


def test_yaml_1_1_scalars_as_pyyaml_reads_them() -> None:
    objects = plugin.from_manifests(RENDERED)
    assert objects[0]["spec"]["publishNotReadyAddresses"] is True
    assert objects[3]["data"]["number"] == "0600" and objects[3]["data"]["octal"] == 0o600


def test_a_template_rendered_to_none_gives_nothing() -> None:
    assert plugin.from_manifests([None, RENDERED[0]]) == plugin.from_manifests([RENDERED[0]])


def test_one_string_and_several_documents() -> None:
    assert [o["kind"] for o in plugin.from_manifests("kind: A\n---\nkind: B\n---\n")] == ["A", "B"]


def test_uses_libyaml_when_pyyaml_has_it() -> None:
    assert plugin._LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_filter_is_registered() -> None:
    assert plugin.FilterModule().filters()["from_manifests"] is plugin.from_manifests
