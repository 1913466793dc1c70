# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Kubernetes API calls made in the controller's own process, for the kube_apply, kube_read and kube_copy actions.

Why: one kubernetes.core module run costs about 1.1 s on our 2-CPU machines, 0.9 s of it a fresh Python
importing the Kubernetes client and compiling Ansible's module_utils from the module's zip
(tests/benchmarks/overhead.sh, python -X importtime). The linear strategy loads an action plugin's class in
ansible-playbook's own process before it forks the task's worker, so the import at the top of this file happens
once per playbook run and every later task's worker inherits it. The calls are the ones the kubernetes.core
modules make, with kubernetes.core's own client factory (get_api_client: kubeconfig, context, host, token,
K8S_AUTH_* environment variables) and its comparison of the object before and after an apply (diff_objects).

Used only where the modules would run on this machine, as this process's user, with its environment: the
task's connection is local, the task has no `become` (a module would run as another user, with that user's
~/.kube/config) and sets no `environment` (which reaches modules, not this process), and the client imports
here. Otherwise, or with AIRFLOW_K8S_KUBE_MODULES=1 in the environment, the actions run the kubernetes.core
modules. Both paths get the same kubeconfig: a vault-encrypted kubeconfig file on the controller is decrypted to
a temporary file for the task (Kubeconfigs), as kubernetes.core's own k8s action plugin does; both report the
API server's warnings (Pod Security `warn`, deprecated APIs) as task warnings.

The kubernetes.core names used here and by the kube_read module, and what they must do, are checked against
the oldest and the newest kubernetes.core of galaxy.yml's range by
tests/unit/plugins/plugin_utils/test_kubernetes_core_contract.py (tests/scripts/contract.sh).
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import tempfile
import time
from urllib.parse import quote

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.vault import is_encrypted_file

try:
    from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError, NotFoundError, ResourceNotFoundError
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import diff_objects
    from kubernetes.stream import ws_client  # loaded with kubernetes.core's module_utils already
except ImportError as e:  # the actions then run the kubernetes.core modules
    IMPORT_ERROR: Exception | None = e
else:
    IMPORT_ERROR = None

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
DELETE_TIMEOUT = 120  # kubernetes.core.k8s state=absent wait_timeout default
# A wait's poll: the run goes on at most this long after the last workload is ready (kubectl rollout status, the
# benchmarks' floor, watches). One list call per kind each time, cheap in this process; a converge ends with this
# wait, so half the poll is lost on average there (2 s, then 0.5 s before).
WAIT_POLL = 0.25
COPY_CHUNK = 1024 * 1024  # kubernetes.core.k8s_cp's chunk of stdin
STDERR_CHANNEL, ERROR_CHANNEL = 2, 3  # kubernetes.stream.ws_client's channels


class KubeError(Exception):
    """A failed call, with a message for the task result."""


def usable(action) -> bool:
    """Whether the action at hand can make its calls in this process instead of running modules."""
    if IMPORT_ERROR is not None or os.environ.get("AIRFLOW_K8S_KUBE_MODULES") == "1":
        return False
    if getattr(action._connection, "transport", None) != "local":
        return False
    if getattr(action._task, "become", False) or getattr(getattr(action, "_play_context", None), "become", False):
        return False
    return not any(action._task.environment or [])


def auth_args(args: dict) -> dict:
    """The task's kubernetes.core authentication options as a kubernetes.core module receives them: aliases
    (verify_ssl, ssl_ca_cert...) resolved and types converted by AUTH_ARG_SPEC; other keys left out."""
    names = set(AUTH_ARG_SPEC)
    for spec in AUTH_ARG_SPEC.values():
        names.update(spec.get("aliases") or ())
    given = {k: v for k, v in args.items() if k in names and v is not None}
    validated = ArgumentSpecValidator(AUTH_ARG_SPEC).validate(given)
    if validated.error_messages:
        raise KubeError("kubernetes.core authentication options: " + "; ".join(validated.error_messages))
    return {k: v for k, v in validated.validated_parameters.items() if k in AUTH_ARG_SPEC and v is not None}


# One RFC 7234 warning-value: code, agent, "quoted text" (backslash escapes), optional "date".
_WARNING = re.compile(r'\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*(?:,|$)')


def response_warnings(headers) -> list[str]:
    """The texts of the Warning headers of an API response (Pod Security `warn`, deprecated APIs...).

    The API server sends one Warning header per warning; a client may join repeated headers with ", ", and a
    text may itself hold ", " (a Pod Security warning lists its violations so), hence a parser, not a split."""
    if headers is None:
        return []
    values = headers.getlist("warning") if hasattr(headers, "getlist") else [headers.get("warning")]
    texts = []
    for value in values:
        pos = 0
        while value and pos < len(value):
            found = _WARNING.match(value, pos)
            if not found:
                break
            texts.append(re.sub(r"\\(.)", r"\1", found.group(1)))
            pos = found.end()
    return texts


class Kubeconfigs:
    """The kubeconfig files of one task, vault-encrypted ones decrypted to temporary files (removed on exit).

    kubernetes.core's k8s action plugin does the same for a kubeconfig on the controller, so a vaulted kubeconfig
    works for both of our paths, in this process and through the modules. A kubeconfig on a remote host (other
    connections), a dict, and plain files are passed as given."""

    def __init__(self, action):
        self._action = action
        self._seen: dict = {}
        self._temporary: list = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for path in self._temporary:
            self._action._loader.cleanup_tmp_file(path)
        self._temporary.clear()
        return False

    def resolve(self, args: dict) -> dict:
        """args with its kubeconfig usable by a client on this machine."""
        kubeconfig = args.get("kubeconfig")
        if not isinstance(kubeconfig, str) or getattr(self._action._connection, "transport", None) != "local":
            return args
        if kubeconfig not in self._seen:
            self._seen[kubeconfig] = os.pathsep.join(self._plain(p) for p in kubeconfig.split(os.pathsep))
        return {**args, "kubeconfig": self._seen[kubeconfig]}

    def _plain(self, path: str) -> str:
        real = os.path.expanduser(path)
        try:
            with open(real, "rb") as handle:
                encrypted = is_encrypted_file(handle)
        except OSError:  # missing or unreadable: the client says so, as with the modules
            return path
        if not encrypted:
            return path
        plain = self._action._loader.get_real_file(real, decrypt=True)
        self._temporary.append(plain)
        return plain


def owned_as_applied(obj: dict, manager: str, field_manager: str) -> list[dict]:
    """The object's managedFields with manager's entry turned into a server-side apply of field_manager: what an
    object created by create_only needs so that later applies of field_manager own its fields alone (the API server
    would otherwise keep the creating entry as a second owner, or a `before-first-apply` one if it were cleared)."""
    fields = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        entry = dict(entry)
        if entry.get("manager") == manager:
            entry.update(manager=field_manager, operation="Apply")
            entry.pop("subresource", None)
        fields.append(entry)
    return fields


def not_ready(obj: dict) -> str | None:
    """Why a workload as the API server returned it is not ready, or None when it is.

    The conditions are kubernetes.core's waiter predicates (deployment_ready, statefulset_ready,
    daemonset_ready) on a dict; the answer gives the counts and the failing conditions for an error message.
    Kinds that are not workloads are ready."""
    kind = obj.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation") or 0
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled")
        ready, updated = status.get("numberReady") or 0, status.get("updatedNumberScheduled") or 0
        ok = want is not None and updated == want and ready == want and not status.get("unavailableReplicas")
    else:
        want = spec.get("replicas", 1)
        ready, updated = status.get("readyReplicas") or 0, status.get("updatedReplicas") or 0
        current = status.get("replicas") or 0
        if kind == "Deployment":
            ok = (current == want and (status.get("availableReplicas") or 0) == want
                  and not status.get("unavailableReplicas"))
        elif (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            ok = current == want
        else:
            ok = (status.get("updateRevision") == status.get("currentRevision")
                  and updated == want and ready == want and current == want)
    if status and status.get("observedGeneration") == generation and ok:
        return None
    conditions = "; ".join(
        f"{c.get('type')}: {c.get('reason', '')} {c.get('message', '')}".strip()
        for c in status.get("conditions") or [] if c.get("status") != "True")
    seen = "" if status.get("observedGeneration") == generation else f", generation {generation} not yet observed"
    return f"{ready}/{want or 0} ready, {updated} updated{seen}" + (f" ({conditions})" if conditions else "")


def _api_message(e: Exception) -> str:
    body = getattr(e, "body", None)
    if body:
        try:
            return json.loads(body).get("message") or str(body)
        except (TypeError, ValueError, AttributeError):
            return str(body)
    return str(e)


def pick_pod(pods: list[dict], container: str | None = None) -> dict | None:
    """The pod to copy through: Running and not being deleted, the one whose container is ready first (a pod of a
    rollout that is still starting, or one that is terminating, would lose the copy's exec or refuse it)."""
    def ready(pod: dict) -> bool:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return any(s.get("ready") for s in statuses if container is None or s.get("name") == container)

    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
               and not (p.get("metadata") or {}).get("deletionTimestamp")]
    running.sort(key=lambda p: (not ready(p), (p.get("metadata") or {}).get("name", "")))
    return running[0] if running else None


def tar_command(remote_path: str) -> list[str]:
    """The command kubernetes.core.k8s_cp runs in the pod for a copy onto it (no_preserve: false)."""
    return ["tar", "-xmf", "-"] + (["-C", "/"] if remote_path.startswith("/") else [])


def write_archive(local_path: str, remote_path: str, fileobj) -> None:
    """The tar archive of a copy onto a pod: each entry of the folder local_path under remote_path (tar drops the
    leading "/"; tar_command extracts it from /), symbolic links kept as links. kubernetes.core.k8s_cp's archive of
    a folder given with a trailing "/" holds the same entries and the folder itself as remote_path; without that
    one, tar in the pod leaves an existing remote_path's mode alone (a volume's mount point, which the container's
    user may not chmod: GNU tar then exits with 2, which k8s_cp never reads) and creates it when it is absent."""
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        for entry in sorted(os.listdir(local_path)):
            tar.add(os.path.join(local_path, entry), arcname=remote_path.rstrip("/") + "/" + entry)


def exec_status(text) -> tuple[int | None, str]:
    """The exit code and message of an exec's status (its error channel, a metav1.Status document); None when the
    command did not report one (the connection ended first)."""
    if not text:
        return None, ""
    try:
        status = json.loads(text)
    except ValueError:
        return None, str(text)
    if status.get("status") == "Success":
        return 0, ""
    causes = (status.get("details") or {}).get("causes") or []
    code = next((c.get("message") for c in causes if c.get("reason") == "ExitCode"), None)
    try:
        return (int(code) if code is not None else 1), status.get("message") or ""
    except ValueError:
        return 1, status.get("message") or ""


def feed_exec(response, chunks, timeout: float) -> tuple[int | None, str]:
    """Write chunks to an exec's stdin, close it (channel protocol v5; with v4, tar ends at the archive's end
    marker), and wait until the command exits: (exit code, its stderr and status message). None as the code when
    the command had not exited after timeout seconds."""
    for chunk in chunks:
        response.write_stdin(chunk)
    close = getattr(response, "close_channel", None)
    if close is not None:
        close(0)
    deadline = time.monotonic() + timeout
    while response.is_open() and time.monotonic() < deadline:
        response.update(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
    stderr = response.read_channel(STDERR_CHANNEL)
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    if response.is_open():
        return None, stderr.strip()
    code, message = exec_status(response.read_channel(ERROR_CHANNEL))
    return code, "; ".join(t for t in (stderr.strip(), message) if t)


class Kube:
    """One API client for one task, from the task's kubernetes.core auth arguments."""

    def __init__(self, args: dict):
        auth = auth_args(args)
        try:
            self.client = get_api_client(**auth)
        except Exception as e:  # CoreException (kubeconfig), or a urllib3 error when the API server is unreachable
            raise KubeError(f"no client for the cluster: {e}") from e
        self._resources: dict = {}

    def resource(self, kind: str, api_version: str):
        key = (kind, api_version)
        if key not in self._resources:
            self._resources[key] = self.client.resource(kind, api_version)
        return self._resources[key]

    @staticmethod
    def _json(response) -> dict:
        return json.loads(response.data.decode("utf-8"))

    def _get(self, resource, name: str, namespace: str | None) -> dict | None:
        try:
            return self._json(resource.get(name=name, namespace=namespace, serialize=False))
        except NotFoundError:
            return None

    def read(self, kind: str, api_version: str = "v1", name: str | None = None, namespace: str | None = None,
             label_selectors: list | None = None, field_selectors: list | None = None) -> tuple[list, bool]:
        """The objects a k8s_info query finds, and whether the API exists (the same answer as k8s_info)."""
        try:
            resource = self.resource(kind, api_version)
        except ResourceNotFoundError:
            return [], False
        namespace = namespace if resource.namespaced else None
        if name:
            found = self._get(resource, name, namespace)
            return ([found] if found else []), True
        params = {}
        if label_selectors:
            params["label_selector"] = ",".join(label_selectors)
        if field_selectors:
            params["field_selector"] = ",".join(field_selectors)
        items = self._json(resource.get(namespace=namespace, serialize=False, **params)).get("items") or []
        for item in items:  # the items of a list answer carry no kind
            item.setdefault("kind", resource.kind)
            item.setdefault("apiVersion", resource.group_version)
        return items, True

    def _placed(self, obj: dict) -> tuple:
        """The API resource of an object to write, its metadata, and its namespace (None when cluster-scoped)."""
        try:
            resource = self.resource(obj["kind"], obj["apiVersion"])
        except ResourceNotFoundError as e:
            raise KubeError(f"no API for {obj['apiVersion']} {obj['kind']}") from e
        meta = obj["metadata"]
        return resource, meta, (meta.get("namespace") if resource.namespaced else None)

    def apply(self, obj: dict, field_manager: str, dry_run: bool) -> dict:
        """Server-side apply of one object (a server-side dry run in check mode), like kubernetes.core.k8s with
        apply and server_side_apply: {changed, result, diff}."""
        resource, meta, namespace = self._placed(obj)
        if resource.namespaced and not namespace:
            raise KubeError(f"{obj['kind']} {meta['name']} needs metadata.namespace")
        existing = self._get(resource, meta["name"], namespace)
        try:
            response = resource.server_side_apply(
                body=obj, name=meta["name"], namespace=namespace, field_manager=field_manager,
                force_conflicts=True, dry_run="All" if dry_run else None, serialize=False)
        except NotFoundError:
            if dry_run and existing is None:  # its namespace is created by the same run
                return {"changed": True, "result": obj, "diff": {"before": {}, "after": obj}}
            raise
        after = self._json(response)
        answer = {"result": after}
        warnings = response_warnings(getattr(response, "headers", None))
        if warnings:
            answer["warnings"] = warnings
        if existing is None:
            return {"changed": True, "diff": {"before": {}, "after": after}, **answer}
        match, diff = diff_objects(existing, after)
        return {"changed": not match, "diff": diff, **answer}

    def create(self, obj: dict, field_manager: str, dry_run: bool) -> dict:
        """Create one object only if it does not exist, in one API call (POST): the server refuses a second create
        of the same name (409 AlreadyExists), so of two runs racing to create it exactly one wins.
        {changed, result, existed}. The create's own managedFields entry (an Update of field_manager) is then
        made an Apply of field_manager, so the caller's server-side apply owns the fields alone (a key it stops
        applying is removed, as for any applied object)."""
        resource, meta, namespace = self._placed(obj)
        try:
            response = resource.create(body=obj, namespace=namespace, field_manager=field_manager,
                                       dry_run="All" if dry_run else None, serialize=False)
        except ConflictError:
            return {"changed": False, "existed": True, "result": {}}
        except NotFoundError:
            if dry_run:  # its namespace is created by the same run
                return {"changed": True, "existed": False, "result": obj}
            raise
        created = self._json(response)
        if not dry_run:
            fields = owned_as_applied(created, field_manager, field_manager)
            resource.patch(body={"metadata": {"managedFields": fields}}, name=meta["name"], namespace=namespace,
                           content_type="application/merge-patch+json", serialize=False)
        return {"changed": True, "existed": False, "result": created}

    def delete(self, obj: dict, dry_run: bool, timeout: int = DELETE_TIMEOUT) -> bool:
        """Delete one object and wait until it is gone; whether it existed."""
        try:
            resource = self.resource(obj["kind"], obj.get("apiVersion") or "v1")
        except ResourceNotFoundError:
            return False
        meta = obj["metadata"]
        namespace = meta.get("namespace") if resource.namespaced else None
        if self._get(resource, meta["name"], namespace) is None:
            return False
        if dry_run:
            return True
        try:
            resource.delete(name=meta["name"], namespace=namespace, propagation_policy="Background",
                            serialize=False)
        except NotFoundError:
            return True
        deadline = time.monotonic() + timeout
        while self._get(resource, meta["name"], namespace) is not None:
            if time.monotonic() > deadline:
                raise KubeError(f"{obj['kind']} {meta['name']} still exists {timeout}s after its deletion")
            time.sleep(1)
        return True

    def running_pod(self, namespace: str, name: str | None = None, label_selectors: list | None = None,
                    container: str | None = None) -> dict | None:
        """A pod to copy through (pick_pod), by name or by labels; None when none runs."""
        fields = None if name else ["status.phase=Running"]
        pods = self.read("Pod", "v1", name=name, namespace=namespace, label_selectors=label_selectors,
                         field_selectors=fields)[0]
        return pick_pod(pods, container)

    def copy_to_pod(self, namespace: str, pod: str, container: str | None, local_path: str, remote_path: str,
                    timeout: float) -> None:
        """kubernetes.core.k8s_cp state=to_pod of a folder's content, in this process: a tar archive over the pod's
        exec stream, then wait until tar has exited and check its exit code (k8s_cp closes the stream once the last
        chunk is written and reads no exit code).

        The stream is opened as kubernetes.stream.stream opens it for CoreV1Api.connect_get_namespaced_pod_exec
        (the exec URL, the client's bearer token, which is all the websocket sends besides its protocols), without
        importing CoreV1Api: that module alone takes 0.4 s to import, and the copy is the last step of a converge."""
        configuration = self.client.configuration
        command = tar_command(remote_path)
        query = [("command", part) for part in command] + ([("container", container)] if container else [])
        query += [("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
        url = ws_client.get_websocket_url(
            f"{configuration.host}/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec", query)
        token = (configuration.auth_settings().get("BearerToken") or {}).get("value")
        with tempfile.TemporaryFile() as buffer:
            write_archive(local_path, remote_path, buffer)
            buffer.seek(0)
            try:
                response = ws_client.WSClient(configuration, url, {"authorization": token} if token else {}, True)
            except Exception as e:  # websocket's handshake errors (403 without pods/exec, 404...)
                raise KubeError(f"exec in pod {namespace}/{pod} refused: {e}") from e
            try:
                code, why = feed_exec(response, iter(lambda: buffer.read(COPY_CHUNK), b""), timeout)
            finally:
                response.close()
        if code is None:
            raise KubeError(f"{' '.join(command)} in pod {namespace}/{pod} had not ended after {timeout:.0f}s"
                            + (f": {why}" if why else ""))
        if code != 0:
            raise KubeError(f"{' '.join(command)} in pod {namespace}/{pod} failed (exit code {code})"
                            + (f": {why}" if why else ""))

    def wait(self, kind: str, api_version: str, namespace: str | None, names: set, label_selectors: list,
             timeout: int, sleep: float = WAIT_POLL) -> str | None:
        """Poll until every named workload is ready; None, or why not after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if label_selectors:
                items = self.read(kind, api_version, namespace=namespace, label_selectors=label_selectors)[0]
            else:
                items = [i for name in names for i in self.read(kind, api_version, name, namespace)[0]]
            found = {i["metadata"]["name"]: i for i in items if i["metadata"]["name"] in names}
            why = {name: not_ready({"kind": kind, **obj}) for name, obj in found.items()}
            pending = {name: w for name, w in why.items() if w}
            missing = names - set(found)
            if not pending and not missing:
                return None
            if time.monotonic() >= deadline:
                states = [f"{kind} {name}: {pending[name]}" for name in sorted(pending)]
                states += [f"{kind} {name}: not found" for name in sorted(missing)]
                return f"not ready after {timeout}s (wait_timeout): " + "; ".join(states)
            time.sleep(sleep)


def api_error(e: Exception) -> str:
    """The message of a failed call: the API server's own message when it gave one."""
    if IMPORT_ERROR is None and isinstance(e, DynamicApiError):
        return f"{getattr(e, 'status', '')} {getattr(e, 'reason', '')}: {_api_message(e)}".strip()
    return str(e)
