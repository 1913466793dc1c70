# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the collection takes from kubernetes.core's non-public module_utils, checked against a given kubernetes.core.

kube_local (the in-process path of kube_apply, kube_read and kube_copy) and the kube_read module import kubernetes.core's
module_utils, which are not a public interface and changed within 6.x. galaxy.yml allows >=6.0.0,<7.0.0;
tests/scripts/contract.sh runs tests/unit (this file included) against the oldest and the newest 6.x release
(tests/scripts/kubernetes_core.py pins them), each imported alone (tests/unit/conftest.py). Plain `pytest
tests/unit` checks the copy the pinned `ansible` package bundles.

Checked here without a cluster: every kubernetes.core name our code imports exists (found in our sources, so a new
import needs a line here), the parameters we pass are accepted, AUTH_ARG_SPEC still holds the options we accept
and pass on, get_api_client's failures for a bad kubeconfig, diff_objects' answer. What the API calls do is
compared on a real cluster, both paths side by side: tests/cluster/test_kube_paths.py.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local

REPO = Path(__file__).resolve().parents[4]
USERS = [REPO / "plugins" / "plugin_utils" / "kube_local.py", REPO / "plugins" / "modules" / "kube_read.py"]

# Every kubernetes.core (and kubernetes client) name our plugins import: the contract's first half.
CONTRACT = {
    "ansible_collections.kubernetes.core.plugins.module_utils.args_common": {"AUTH_ARG_SPEC"},
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.client": {"get_api_client"},
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.service": {"diff_objects", "K8sService"},
    "ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule": {"AnsibleModule"},
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.core": {"AnsibleK8SModule"},
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions": {"CoreException"},
    "kubernetes.dynamic.exceptions": {"ConflictError", "DynamicApiError", "NotFoundError", "ResourceNotFoundError"},
    "kubernetes.stream": {"ws_client"},
}


def _imported() -> dict[str, set]:
    found: dict[str, set] = {}
    for path in USERS:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    ("ansible_collections.kubernetes.", "kubernetes")):
                found.setdefault(node.module, set()).update(alias.name for alias in node.names)
    return found


def _module(name: str):
    import importlib

    return importlib.import_module(name)


def _manifest_version() -> str:
    import ansible_collections.kubernetes.core as core

    manifest = Path(next(iter(core.__path__))) / "MANIFEST.json"
    return json.loads(manifest.read_text())["collection_info"]["version"]


def _numbers(version: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def test_the_kubernetes_core_under_test_is_in_the_range_galaxy_yml_allows():
    version = _manifest_version()
    wanted = os.environ.get("AIRFLOW_K8S_KUBERNETES_CORE_VERSION")
    if wanted:
        assert version == wanted, f"imported kubernetes.core {version}, asked for {wanted}"
    tree = os.environ.get("AIRFLOW_K8S_KUBERNETES_CORE")
    if tree:
        client = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.client")
        assert Path(client.__file__).resolve().is_relative_to(Path(tree).resolve())
    spec = yaml.safe_load((REPO / "galaxy.yml").read_text())["dependencies"]["kubernetes.core"]
    for bound in spec.split(","):
        op, value = re.match(r"\s*([<>=!]+)\s*(\S+)", bound).groups()
        ok = {">=": _numbers(version) >= _numbers(value), "<": _numbers(version) < _numbers(value),
              ">": _numbers(version) > _numbers(value), "<=": _numbers(version) <= _numbers(value)}[op]
        assert ok, f"kubernetes.core {version} is outside galaxy.yml's {spec}"


def test_the_contract_lists_every_name_our_plugins_import():
    assert _imported() == CONTRACT


@pytest.mark.parametrize("module", sorted(CONTRACT))
def test_every_imported_name_exists(module):
    imported = _module(module)
    missing = sorted(name for name in CONTRACT[module] if not hasattr(imported, name))
    assert not missing, f"{module} has no {missing}"


def test_kube_local_imports_in_full():
    assert kube_local.IMPORT_ERROR is None


def _spec():
    return _module("ansible_collections.kubernetes.core.plugins.module_utils.args_common").AUTH_ARG_SPEC


def test_auth_arg_spec_keeps_the_options_we_document_and_pass_on():
    # kube_read documents kubernetes.core.k8s_auth_options; kube_local passes these to get_api_client.
    spec = _spec()
    assert {"kubeconfig", "context", "host", "api_key", "username", "password", "validate_certs", "ca_cert",
            "client_cert", "client_key", "proxy", "no_proxy", "proxy_headers", "persist_config",
            "impersonate_user", "impersonate_groups"} <= set(spec)
    aliases = {a for option in spec.values() for a in option.get("aliases") or ()}
    assert {"verify_ssl", "ssl_ca_cert", "cert_file", "key_file"} <= aliases
    assert spec["kubeconfig"].get("type") == "raw"  # a path or a dict
    assert spec["validate_certs"].get("type") == "bool"


def test_auth_args_gives_get_api_client_the_module_s_view():
    given = {"verify_ssl": "no", "ssl_ca_cert": "/ca.pem", "context": "ctx", "kubeconfig": {"a": 1},
             "queries": {"x": {}}, "host": None}
    assert kube_local.auth_args(given) == {"validate_certs": False, "ca_cert": "/ca.pem", "context": "ctx",
                                           "kubeconfig": {"a": 1}}


def test_get_api_client_takes_the_module_or_keywords():
    get_api_client = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.client").get_api_client
    params = list(inspect.signature(get_api_client).parameters.values())
    assert params[0].name == "module" and params[0].default is None
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "here",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def test_a_bad_kubeconfig_context_is_a_core_exception(tmp_path):
    client = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.client")
    exceptions = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions")
    with pytest.raises(exceptions.CoreException, match="missing-context"):
        client.get_api_client(**kube_local.auth_args({"kubeconfig": str(_kubeconfig(tmp_path)),
                                                      "context": "missing-context"}))


def test_kube_reports_an_unreachable_api_server_as_a_kube_error(tmp_path):
    # get_api_client asks the server for /version; port 9 (discard) refuses. Kube turns any failure into a
    # KubeError with the cause, which the actions return as the task's message.
    with pytest.raises(kube_local.KubeError, match="no client for the cluster"):
        kube_local.Kube({"kubeconfig": str(_kubeconfig(tmp_path))})


def test_the_client_resource_and_the_dynamic_calls_take_our_arguments():
    client = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.client")
    assert list(inspect.signature(client.K8SClient.resource).parameters)[1:3] == ["kind", "api_version"]
    dynamic = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8sdynamicclient").K8SDynamicClient
    from kubernetes.dynamic import DynamicClient

    assert issubclass(dynamic, DynamicClient)
    ssa = inspect.signature(dynamic.server_side_apply).parameters
    assert {"body", "name", "namespace", "force_conflicts"} <= set(ssa) and "kwargs" in ssa
    for call, names in ((dynamic.get, {"name", "namespace"}), (dynamic.delete, {"name", "namespace"})):
        assert names <= set(inspect.signature(call).parameters)


def test_the_copy_opens_the_exec_stream_as_kubernetes_stream_does():
    """kube_copy's in-process copy (Kube.copy_to_pod): get_api_client's K8SClient keeps the client configuration,
    whose bearer token and host make the exec websocket, and the WSClient calls feed_exec makes."""
    client = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.client")
    assert client.K8SClient(configuration="conf", client=None).configuration == "conf"
    from kubernetes.client import Configuration
    from kubernetes.stream import ws_client

    configuration = Configuration(host="https://127.0.0.1:6443", api_key={"authorization": "Bearer t"})
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer t"
    assert ws_client.get_websocket_url("https://h:1/api/v1/namespaces/n/pods/p/exec",
                                       [("command", "tar"), ("command", "-xmf"), ("stdin", "true")]) == \
        "wss://h:1/api/v1/namespaces/n/pods/p/exec?command=tar&command=-xmf&stdin=true"
    assert list(inspect.signature(ws_client.WSClient.__init__).parameters)[1:5] == [
        "configuration", "url", "headers", "capture_all"]
    for name in ("write_stdin", "update", "is_open", "read_channel", "close"):
        assert callable(getattr(ws_client.WSClient, name)), name
    assert (ws_client.STDERR_CHANNEL, ws_client.ERROR_CHANNEL) == (kube_local.STDERR_CHANNEL, kube_local.ERROR_CHANNEL)


def test_diff_objects_answers_match_and_the_changed_parts():
    diff_objects = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.service").diff_objects
    assert list(inspect.signature(diff_objects).parameters)[:2] == ["existing", "new"]
    before = {"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "1", "generation": 1},
              "data": {"k": "v", "same": "s"}}
    assert diff_objects(before, dict(before)) == (True, {})
    bumped = {**before, "metadata": {"name": "a", "resourceVersion": "2", "generation": 2}}
    assert diff_objects(before, bumped)[0] is True  # only resourceVersion/generation: no change
    changed = {**before, "data": {"k": "w", "same": "s"}}
    match, diff = diff_objects(before, changed)
    assert match is False
    assert diff == {"before": {"data": {"k": "v"}}, "after": {"data": {"k": "w"}}}


def test_kube_read_module_builds_on_the_kubernetes_core_module_classes():
    core = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.core")
    service = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.service")
    settings = core.AnsibleK8SModule.default_settings
    assert "module_class" in settings
    assert list(inspect.signature(service.K8sService.__init__).parameters)[1:3] == ["client", "module"]
    find = inspect.signature(service.K8sService.find).parameters
    assert {"kind", "api_version", "name", "namespace", "label_selectors", "field_selectors"} <= set(find)
    exceptions = _module("ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions")
    assert issubclass(exceptions.CoreException, Exception)
    from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError, NotFoundError
    from kubernetes.dynamic import exceptions as dynamic_exceptions

    assert issubclass(NotFoundError, DynamicApiError)
    # kube_apply's create_only: a create of an existing name answers 409, raised as ConflictError
    assert issubclass(ConflictError, DynamicApiError)
    from kubernetes.client.rest import ApiException

    assert isinstance(dynamic_exceptions.api_exception(ApiException(status=409)), ConflictError)
