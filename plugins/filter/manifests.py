# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters that turn a phase's object list into manifests for review or GitOps."""

from __future__ import annotations

import copy

import yaml

REDACTED_ANNOTATION = "airflow-k8s.io/redacted"


def redact_secrets(objects: list[dict]) -> list[dict]:
    """Return a deep copy of objects with every Secret's data and stringData values emptied."""
    if not isinstance(objects, list):
        raise TypeError("redact_secrets expects a list of Kubernetes objects")
    result = []
    for obj in objects:
        if isinstance(obj, dict) and obj.get("kind") == "Secret":
            obj = copy.deepcopy(obj)
            for field in ("data", "stringData"):
                if isinstance(obj.get(field), dict):
                    obj[field] = {key: "" for key in obj[field]}
            metadata = obj.setdefault("metadata", {})
            annotations = metadata.get("annotations") or {}
            annotations[REDACTED_ANNOTATION] = "true"
            metadata["annotations"] = annotations
        result.append(obj)
    return result


class _ManifestDumper(yaml.SafeDumper):
    """Block-style YAML with multi-line strings as literal blocks and lists indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_ManifestDumper.add_representer(str, _str_representer)


def to_manifests(objects: list[dict]) -> str:
    """Serialise objects as one multi-document YAML stream, keys in their given order."""
    if not isinstance(objects, list):
        raise TypeError("to_manifests expects a list of Kubernetes objects")
    docs = [
        yaml.dump(_plain(obj), Dumper=_ManifestDumper, default_flow_style=False, sort_keys=False, width=120)
        for obj in objects
        if obj
    ]
    return "---\n" + "---\n".join(docs) if docs else ""


def _plain(value):
    """Convert Ansible's wrapped/unsafe types into plain Python types yaml.SafeDumper knows."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return str(value)


# libyaml's parser when PyYAML was built with it: ten times faster than the pure-Python one that
# ansible.builtin.from_yaml uses (0.9 s of a no-op run went to parsing the rendered components).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def from_manifests(rendered) -> list[dict]:
    """The objects of rendered templates: each string's YAML documents, a document that is a list giving its
    items, empty documents and items dropped (what map('from_yaml') | select | flatten(levels=1) gave)."""
    if isinstance(rendered, str):
        rendered = [rendered]
    if not isinstance(rendered, (list, tuple)):
        raise TypeError("from_manifests expects a rendered template or a list of them")
    objects = []
    for text in rendered:
        # A template that is one expression can render to a native value (None for an object switched off).
        docs = [text] if text is None or isinstance(text, (dict, list)) else yaml.load_all(str(text), Loader=_LOADER)
        for doc in docs:
            for obj in doc if isinstance(doc, list) else [doc]:
                if obj:
                    objects.append(obj)
    return objects


class FilterModule:
    """Manifest filters."""

    def filters(self):
        return {
            "from_manifests": from_manifests,
            "redact_secrets": redact_secrets,
            "to_manifests": to_manifests,
        }
