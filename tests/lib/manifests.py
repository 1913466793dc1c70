"""Load a render folder and look objects up in it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from lib import pss

Obj = dict[str, Any]


@dataclass(frozen=True)
class Document:
    path: Path
    index: int
    obj: Obj

    @property
    def where(self) -> str:
        return f"{self.path.name}#{self.index} {pss.object_name(self.obj)}"


def load_documents(files: Iterable[Path]) -> list[Document]:
    """Every non-empty YAML document of the files; raises ValueError naming the file on bad YAML."""
    docs: list[Document] = []
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name} is not valid YAML: {exc}") from exc
        for index, obj in enumerate(loaded):
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise ValueError(f"{path.name}#{index} is a {type(obj).__name__}, not a Kubernetes object")
            docs.append(Document(path, index, obj))
    return docs


def name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def of_kind(objects: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o.get("kind") == kind]


def component(obj: Obj) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component", ""))


def find_workload(objects: Iterable[Obj], kind: str, comp: str) -> Obj | None:
    """The object of this kind whose component label or name suffix is ``comp``."""
    matches = [o for o in of_kind(objects, kind) if component(o) == comp or name(o).endswith(f"-{comp}")]
    return matches[0] if len(matches) == 1 else None


def pod_template(obj: Obj) -> Obj:
    """spec.template of a workload (CronJob: its job template's pod template)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    return spec.get("template") or {}


def worker_pod_templates(objects: Iterable[Obj]) -> list[tuple[Obj, Obj]]:
    """(ConfigMap, Pod) for every ConfigMap carrying ``pod_template_file.yaml`` with a Pod in it."""
    return [
        (cm, pod)
        for cm in of_kind(objects, "ConfigMap")
        for key, pod in pss.embedded_pods(cm)
        if key == "pod_template_file.yaml"
    ]


def container(pod_spec: Obj, container_name: str | None = None) -> Obj | None:
    containers = pod_spec.get("containers") or []
    if container_name is None:
        return containers[0] if len(containers) == 1 else None
    return next((c for c in containers if c.get("name") == container_name), None)
