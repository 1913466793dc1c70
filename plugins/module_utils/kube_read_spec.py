# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The queries option of kube_read, checked and run the same way by the module and by the action that answers it
in the controller's process (plugins/plugin_utils/kube_local.py); only the client behind find() differs."""

from __future__ import annotations

QUERY_KEYS = {"kind", "api_version", "name", "namespace", "label_selectors", "field_selectors"}


def check_queries(queries) -> list:
    """Errors in the queries' shape, one per bad query (nothing is read when there is one)."""
    if not isinstance(queries, dict):
        return [f"queries must be a dict of name: query, got {type(queries).__name__}"]
    errors = []
    for key, query in queries.items():
        if not query:
            continue
        if not isinstance(query, dict):
            errors.append(f"queries.{key} must be a dict, got {type(query).__name__}")
            continue
        unknown = sorted(set(query) - QUERY_KEYS)
        if unknown:
            errors.append(f"queries.{key}: unknown keys {unknown}; use {sorted(QUERY_KEYS)}")
        if not query.get("kind"):
            errors.append(f"queries.{key}: kind is required")
        for list_key in ("label_selectors", "field_selectors"):
            if not isinstance(query.get(list_key) or [], list):
                errors.append(f"queries.{key}.{list_key} must be a list of strings")
    return errors


def where(query: dict) -> str:
    """namespace/name of a query, for messages."""
    return "/".join(str(query[k]) for k in ("namespace", "name") if query.get(k))


class QueryFailed(Exception):
    """A query the API server did not answer; the message names the query."""


def read_queries(queries: dict, find, describe=str, errors=(Exception,)):
    """Run every non-empty query with find(kind, api_version, name=, namespace=, label_selectors=, field_selectors=)
    -> (resources, api_found).

    Returns (resources by query name, names of the queries whose API is not served). The first failing query
    raises QueryFailed with its name, kind and namespace/name, and describe(error)."""
    resources, missing = {}, []
    for key, query in queries.items():
        if not query:
            continue
        try:
            resources[key], found = find(query["kind"], query.get("api_version") or "v1", name=query.get("name"),
                                         namespace=query.get("namespace"),
                                         label_selectors=query.get("label_selectors") or [],
                                         field_selectors=query.get("field_selectors") or [])
        except errors as e:
            raise QueryFailed(f"query {key} ({query['kind']} {where(query)}) failed: {describe(e)}".replace(" )", ")")) from e
        if not found:
            missing.append(key)
    return resources, missing
