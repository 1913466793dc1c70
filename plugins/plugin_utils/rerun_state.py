# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What a re-run of site.yml compares to decide that nothing changed since the last full run (the rerun_state action).

Two digests:
- the input fingerprint: the collection's own files, every airflow_* and storage_* variable as templated for the host,
  and the content of the local files and folders those variables name (a DAG folder, a CA bundle...);
- one digest per object the last run applied: the object as it is live, projected onto the fields the collection's
  field manager owns (metadata.managedFields, server-side apply). An edit by someone else changes a value or moves the
  field to another manager, a deleted object is missing: either way the digest differs. Fields other managers own
  (status, the controller's annotations, defaults) are not ours and do not count.
Secrets the collection does not own (the user's own values, which a full run digests into the pods) are compared
whole. Nothing here keeps a value: only SHA-256 digests (kept in a Secret, as they digest secret values).
"""

from __future__ import annotations

import hashlib
import json
import os

FIELD_MANAGER = "airflow-k8s"  # kube_apply's default field_manager
# The fact kube_apply extends with every object a run applies; site.yml's last task records them.
APPLIED_FACT = "_airflow_k8s_applied"
# Kinds that are one-shot actions, not a desired state: never compared (a finished Job may be cleaned up).
ONE_SHOT_KINDS = ("Job", "Pod")
# A local folder larger than this is not fingerprinted (the run then takes the full path).
MAX_FILES = 20000
MAX_BYTES = 512 * 1024 * 1024


class Unfingerprintable(Exception):
    """An input whose content cannot be fingerprinted: the run takes the full path."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value) -> bytes:
    """One byte string per value (sorted keys, no whitespace), the input of every digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def tree_digest(root: str, skip_dirs: tuple = ("__pycache__", ".git")) -> str:
    """The digest of a file, or of every file under a folder (relative names and contents, sorted)."""
    if os.path.isfile(root):
        with open(root, "rb") as handle:
            return _sha(handle.read())
    digest = hashlib.sha256()
    count = size = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
        for name in sorted(files):
            path = os.path.join(folder, name)
            count += 1
            try:
                size += os.path.getsize(path)
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError as e:
                raise Unfingerprintable(f"{path} cannot be read: {e.strerror}") from e
            if count > MAX_FILES or size > MAX_BYTES:
                raise Unfingerprintable(f"{root} holds more than {MAX_FILES} files or {MAX_BYTES >> 20} MiB")
            digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0" + _sha(content).encode() + b"\0")
    return digest.hexdigest()


PATH_KEYS = ("path", "file", "dir", "folder")


def local_paths(value, bases: list[str], key: str = "") -> set[str]:
    """The existing local files and folders a variable's value names: a text with a slash, or any text under a key
    ending in path/file/dir/folder (airflow_core_dags.local_path: dags), absolute or relative to one of bases."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            found |= local_paths(item, bases, str(name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= local_paths(item, bases, key)
    elif (isinstance(value, str) and value and ("/" in value or key.lower().endswith(PATH_KEYS))
          and "\n" not in value and len(value) < 4096):
        candidates = [value] if os.path.isabs(value) else [os.path.join(b, value) for b in bases]
        for path in candidates:
            path = os.path.realpath(os.path.expanduser(path))
            if path != "/" and (os.path.isfile(path) or os.path.isdir(path)):
                found.add(path)
                break
    return found


def input_fingerprint(collection_root: str, values: dict, path_values: dict, bases: list[str]) -> str:
    """The fingerprint of a run's inputs: the collection's files, the variables' values, the local paths they name.

    values: every input variable (templated); path_values: the variables whose local files count (kubeconfigs and
    the like are left out by the caller: a refreshed token is not a change)."""
    paths: set[str] = set()
    for name, value in path_values.items():
        paths |= local_paths(value, bases, name)
    parts = {
        "collection": {d: tree_digest(os.path.join(collection_root, d))
                       for d in ("roles", "plugins", "playbooks", "meta")
                       if os.path.isdir(os.path.join(collection_root, d))},
        "values": _sha(canonical(values)),
        "paths": {p: tree_digest(p) for p in sorted(paths)},
    }
    return _sha(canonical(parts))


def owned_fields(obj: dict, manager: str = FIELD_MANAGER) -> dict:
    """The fieldsV1 tree of what manager applied (server-side apply), merged over its entries."""
    merged: dict = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            _merge(merged, entry.get("fieldsV1") or {})
    return merged


def _merge(into: dict, tree: dict) -> None:
    for key, sub in tree.items():
        if isinstance(sub, dict) and isinstance(into.get(key), dict):
            _merge(into[key], sub)
        else:
            into[key] = sub


_ABSENT = "<absent>"


def project(value, fields: dict):
    """value reduced to the fields of a fieldsV1 tree: f:<name> a field, k:<json> the list item with those keys,
    v:<json> a set member, i:<n> a list index, "." the node itself. A field with no sub-fields is taken whole."""
    out = {}
    for key, sub in sorted(fields.items()):
        if key == ".":
            continue
        kind, _sep, name = key.partition(":")
        if kind == "f":
            item = value.get(name, _ABSENT) if isinstance(value, dict) else _ABSENT
        elif kind == "k":
            wanted = json.loads(name)
            item = next((e for e in value or [] if isinstance(e, dict)
                         and all(e.get(k) == v for k, v in wanted.items())), _ABSENT) \
                if isinstance(value, list) else _ABSENT
        elif kind == "v":
            item = json.loads(name) in value if isinstance(value, list) else _ABSENT
            out[key] = item
            continue
        elif kind == "i":
            index = int(name)
            item = value[index] if isinstance(value, list) and index < len(value) else _ABSENT
        else:  # a key kind Kubernetes may add later: compare the whole node
            return value
        sub = {k: v for k, v in (sub or {}).items() if k != "."}
        out[key] = project(item, sub) if sub and item is not _ABSENT else item
    return out


def object_digest(obj: dict | None, manager: str = FIELD_MANAGER) -> str:
    """The digest of what manager owns of a live object: the owned field set and their values."""
    if obj is None:
        return "missing"
    fields = owned_fields(obj, manager)
    return _sha(canonical([fields, project(obj, fields)]))


def secret_digest(obj: dict) -> str:
    """The digest of a Secret the collection does not own: its type and data, whole."""
    return _sha(canonical([obj.get("type"), obj.get("data") or {}, obj.get("stringData") or {}]))


def ref_key(api_version: str, kind: str, namespace: str | None, name: str) -> str:
    return f"{api_version} {kind} {namespace or ''} {name}"


def split_ref(key: str) -> tuple[str, str, str | None, str]:
    api_version, kind, namespace, name = key.split(" ")
    return api_version, kind, namespace or None, name


def groups(keys) -> dict[tuple, list[str]]:
    """The object keys per (apiVersion, kind, namespace): one list call each."""
    out: dict[tuple, list[str]] = {}
    for key in sorted(keys):
        api_version, kind, namespace, name = split_ref(key)
        out.setdefault((api_version, kind, namespace), []).append(name)
    return out


def compare(recorded: dict, live: dict) -> list[str]:
    """What differs between two {key: digest} maps, in words (the first few)."""
    differ = []
    for key in sorted(set(recorded) | set(live)):
        if recorded.get(key) == live.get(key):
            continue
        kind, namespace, name = split_ref(key)[1:]
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        if key not in live or live[key] == "missing":
            differ.append(f"{where} is missing")
        elif key not in recorded:
            differ.append(f"{where} is new")
        else:
            differ.append(f"{where} was changed")
    return differ
