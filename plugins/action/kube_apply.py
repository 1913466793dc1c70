# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Apply one phase's objects (or several phases') in one task: kubernetes.core.k8s server-side apply, deletions,
one wait per kind.

A phase used to be a role of six tasks. Ansible's per-task cost (templating the phase's variables, the
argument spec, a skipped task still costs a strategy round) was most of a no-op run, so the same steps now run
inside one action plugin, with the task's module_defaults for the kubernetes.core.k8s group (kubeconfig,
context). When the task runs on this machine the calls are made in this process (plugins/plugin_utils/
kube_local.py: the same API calls, no module start); otherwise through the kubernetes.core modules.
"""

from __future__ import annotations

import json
import os

import yaml

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils.manifest_file import write_manifests
from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_apply_spec import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, REQUIRED_ONE_OF)
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import rerun_state
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils.kube_local import WORKLOAD_KINDS
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils.kube_local import not_ready as _not_ready

# module_defaults for a module an action plugin runs itself (what gather_facts does); meta/runtime.yml
# requires ansible-core 2.19, where this is the helper's name. On an older one run() refuses first, in words.
try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:
    _apply_action_arg_defaults = None


def _ref(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "?")
    if meta.get("namespace"):
        name = f"{meta['namespace']}/{name}"
    return f"{obj.get('kind', '?')} {name}"


def _warning_text(warning) -> str:
    """A module result's warning: a string, or on ansible-core 2.19 possibly a WarningSummary."""
    if isinstance(warning, str):
        return warning
    event = getattr(warning, "event", None)
    if event is not None and getattr(event, "msg", None):
        return str(event.msg)
    if isinstance(warning, dict) and warning.get("msg"):
        return str(warning["msg"])
    return str(warning)


def _common_labels(objs: list[dict]) -> dict:
    """Labels every object of the list carries with the same value: the selector of one wait per kind."""
    common = dict((objs[0].get("metadata") or {}).get("labels") or {})
    for obj in objs[1:]:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        common = {k: v for k, v in common.items() if labels.get(k) == v}
    return common


def _for_diff(obj: dict) -> dict:
    """The object without the fields the server keeps changing (managedFields, generation, status...)."""
    obj = dict(obj or {})
    obj.pop("status", None)
    meta = dict(obj.get("metadata") or {})
    for key in ("managedFields", "generation", "resourceVersion", "uid", "creationTimestamp"):
        meta.pop(key, None)
    obj["metadata"] = meta
    return obj


class _DiffDumper(yaml.SafeDumper):
    """YAML of a diff: a text of several lines (airflow.cfg in a ConfigMap, a pod template) as a literal block."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    if "\n" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)
    if dumper.analyze_scalar(value).allow_block:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    # YAML cannot write this text as a block (trailing spaces, tabs...): one list item per line, still a line diff
    return dumper.represent_list(value.split("\n"))


_DiffDumper.add_representer(str, _represent_str)


def _diff_text(obj: dict) -> str:
    """An object of a diff as YAML text, one line per line of each multi-line value: Ansible's callbacks then show
    a line diff (the changed airflow.cfg line), whatever their result_format, instead of a JSON object where
    airflow.cfg is one long string."""
    if not obj:
        return ""
    # As JSON has it: an object the task gave (a dry run into a namespace that does not exist yet returns it as the
    # `after`) may hold Ansible's tagged str/int/dict/list subclasses (from_yaml's), which SafeDumper cannot write.
    obj = json.loads(json.dumps(obj, default=str))
    return yaml.dump(obj, Dumper=_DiffDumper, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1000)


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.kube_apply."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_diff = True

    def _module(self, name: str, args: dict, task_vars: dict) -> dict:
        """Run a kubernetes.core module with the task's module_defaults for it (kubeconfig, context...)."""
        args = self._kubeconfigs.resolve(_apply_action_arg_defaults(name, self._task, args, self._templar))
        return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        if refused := core_version.refusal():  # ansible-core older than meta/runtime.yml requires, in words
            return refused
        result = super().run(tmp, task_vars)
        with kube_local.Kubeconfigs(self) as self._kubeconfigs:  # a vaulted kubeconfig, decrypted for this task
            return self._run(result, task_vars)

    def _run(self, result: dict, task_vars: dict) -> dict:
        validated = ArgumentSpecValidator(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                          required_one_of=REQUIRED_ONE_OF).validate(self._task.args)
        if validated.error_messages:
            raise AnsibleActionFail("kube_apply: " + "; ".join(validated.error_messages))
        args = validated.validated_parameters
        # Several phases are applied with one call each for the apply, the deletions and the wait, in the order
        # given; each phase keeps its own file in render mode.
        if args["phases"] is None:
            phases = [{"phase": args["phase"], "objects": args["objects"], "absent": args["absent"]}]
        else:
            phases = args["phases"]
        phase = "+".join(p["phase"] for p in phases) or "(no phase)"
        for item in phases:
            item["objects"] = [obj for obj in item["objects"] or [] if obj]
            item["absent"] = item["absent"] or []
            for obj in item["objects"]:
                if not isinstance(obj, dict) or not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
                    raise AnsibleActionFail(
                        f"kube_apply {item['phase']}: every object needs kind and metadata.name, got {obj!r:.200}")
        objects = [obj for item in phases for obj in item["objects"]]
        absent = [obj for item in phases for obj in item["absent"]]
        result.update(phase=phase, objects=len(objects), changed=False)

        if args["render_dir"]:
            return self._render(result, phases, args["render_dir"])

        local = kube_local.usable(self)
        kube = None
        if local and (args["apply"] or args["wait"]) and (objects or absent):
            try:
                kube = kube_local.Kube(self._kubeconfigs.resolve(
                    _apply_action_arg_defaults("kubernetes.core.k8s", self._task, {}, self._templar)))
            except kube_local.KubeError as e:
                return self._fail(result, f"phase {phase}", {"msg": str(e)})

        diffs: list[dict] = []
        if objects and args["apply"]:
            if args["create_only"] and kube:
                results, failed = self._create_here(kube, objects, args["field_manager"])
            elif args["create_only"]:
                results, failed = self._create_module(objects, args["field_manager"], task_vars)
            elif kube:
                results, failed = self._apply_here(kube, objects, args["field_manager"])
            else:
                results, failed = self._apply_module(objects, args["field_manager"], task_vars)
            if failed:
                verb = "create" if args["create_only"] else "server-side apply"
                return self._fail(result, f"{verb} of phase {phase} failed", failed)
            result["changed"] = any(res.get("changed") for res in results)
            if not self._task.check_mode:
                # The run's list of what it applied: site.yml's last task records their digests (rerun_state).
                applied_so_far = list(task_vars.get(rerun_state.APPLIED_FACT) or [])
                keys = [rerun_state.ref_key(o["apiVersion"], o["kind"], (o.get("metadata") or {}).get("namespace"),
                                            o["metadata"]["name"]) for o in objects]
                result["ansible_facts"] = {rerun_state.APPLIED_FACT: applied_so_far + [k for k in keys if k not in applied_so_far]}
            if args["create_only"]:
                # The objects another run (or an earlier one) created first: the caller reads and uses theirs.
                result["existed"] = [_ref(obj) for obj, res in zip(objects, results) if res.get("existed")]
            result["applied"] = [
                {"object": _ref(obj), "changed": bool(res.get("changed"))} for obj, res in zip(objects, results)]
            # The apply's answer carries each workload's status: one the apply did not change and that is
            # ready needs no wait (a no-op run waits for nothing); the caller's wait can skip it.
            result["workloads"] = [
                {"object": _ref(obj), "ready": not res.get("changed") and _not_ready(res.get("result") or {}) is None}
                for obj, res in zip(objects, results) if obj.get("kind") in WORKLOAD_KINDS]
            # The API server's warnings (Pod Security `warn`, deprecated APIs), named by object, as task warnings.
            warnings = [f"{_ref(obj)}: {_warning_text(w)}" for obj, res in zip(objects, results)
                        for w in res.get("warnings") or []]
            if warnings:
                result["warnings"] = warnings
            for obj, res in zip(objects, results):
                diff = res.get("diff")
                if res.get("changed") and diff:
                    diffs.append({"before_header": _ref(obj), "after_header": _ref(obj),
                                  "before": _diff_text(_for_diff(diff.get("before")) if diff.get("before") else {}),
                                  "after": _diff_text(_for_diff(diff.get("after")))})

        if absent and args["apply"]:
            if kube:
                removed_any, failed = self._delete_here(kube, absent)
            else:
                removed = self._module("kubernetes.core.k8s", {
                    "state": "absent", "definition": absent, "wait": True,
                }, task_vars)
                removed_any, failed = bool(removed.get("changed")), (removed if removed.get("failed") else None)
            if failed:
                return self._fail(result, f"removing the switched-off objects of phase {phase} failed", failed)
            result["changed"] = result["changed"] or removed_any
            result["removed"] = [_ref(obj) for obj in absent] if removed_any else []

        if args["wait"] and not self._task.check_mode:
            ready = {w["object"] for w in result.get("workloads", []) if w["ready"]}
            waited = self._wait(kube, phase,
                                [o for o in objects if o.get("kind") in WORKLOAD_KINDS and _ref(o) not in ready],
                                args["wait_timeout"], task_vars)
            if waited:
                return self._fail(result, waited, {})

        if diffs and self._task.diff:
            result["diff"] = diffs
        return result

    def _apply_module(self, objects: list[dict], field_manager: str, task_vars: dict) -> tuple[list, dict | None]:
        """One kubernetes.core.k8s run for every object: (per-object results, the failed module result)."""
        applied = self._module("kubernetes.core.k8s", {
            "state": "present", "apply": True,
            "server_side_apply": {"field_manager": field_manager, "force_conflicts": True},
            "definition": objects,
        }, task_vars)
        if applied.get("failed"):
            return [], applied
        results = applied.get("result", {}).get("results") if len(objects) > 1 else [applied]
        return list(results or []), None

    def _create_here(self, kube, objects: list[dict], field_manager: str) -> tuple[list, dict | None]:
        """create_only in this process: one POST per object, refused by the server when the object exists."""
        return self._each_here(objects, lambda obj: kube.create(obj, field_manager, self._task.check_mode))

    @staticmethod
    def _each_here(objects: list[dict], call) -> tuple[list, dict | None]:
        """call(object) for each object in this process: (the results so far, the failure that stopped them)."""
        results = []
        for obj in objects:
            try:
                results.append(call(obj))
            except Exception as e:  # API errors, and urllib3 errors of an unreachable API server
                return results, {"msg": f"{_ref(obj)}: {kube_local.api_error(e)}"}
        return results, None

    def _create_module(self, objects: list[dict], field_manager: str, task_vars: dict) -> tuple[list, dict | None]:
        """create_only through the kubernetes.core modules, which have no create-only call: a server-side apply
        under a field manager of this call alone, without forcing conflicts. Where the object exists with other
        values (another run's, or an earlier run's), the server refuses the whole apply (409 conflict) and nothing
        changes; where it is absent, it is created. That manager's ownership then becomes field_manager's, so a
        later server-side apply owns the fields alone."""
        results = []
        for obj in objects:
            meta = obj["metadata"]
            manager = f"{field_manager}-create-{os.urandom(6).hex()}"
            created = self._module("kubernetes.core.k8s", {
                "state": "present", "apply": True,
                "server_side_apply": {"field_manager": manager, "force_conflicts": False},
                "definition": obj,
            }, task_vars)
            if created.get("failed"):
                if created.get("status") == 409 or "conflict" in str(created.get("reason", "")).lower():
                    results.append({"changed": False, "existed": True, "result": {}})
                    continue
                return results, created
            if self._task.check_mode:
                results.append({"changed": bool(created.get("changed")), "existed": False, "result": obj})
                continue
            ref = {"kind": obj["kind"], "api_version": obj["apiVersion"], "name": meta["name"]}
            if meta.get("namespace"):
                ref["namespace"] = meta["namespace"]
            found = self._module("kubernetes.core.k8s_info", ref, task_vars)
            if found.get("failed") or not found.get("resources"):
                return results, found if found.get("failed") else {"msg": f"{_ref(obj)} not found after its create"}
            live = found["resources"][0]
            owners = {e.get("manager") for e in (live.get("metadata") or {}).get("managedFields") or []}
            if owners != {manager}:  # the same values were there already, under other owners: not this call's
                results.append({"changed": False, "existed": True, "result": {}})
                continue
            fields = kube_local.owned_as_applied(live, manager, field_manager)
            owned = self._module("kubernetes.core.k8s", {
                "state": "patched", "merge_type": ["merge"],
                "definition": {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                               "metadata": {**{k: v for k, v in meta.items() if k in ("name", "namespace")},
                                            "managedFields": fields}},
            }, task_vars)
            if owned.get("failed"):
                return results, owned
            results.append({"changed": True, "existed": False, "result": live})
        return results, None

    def _apply_here(self, kube, objects: list[dict], field_manager: str) -> tuple[list, dict | None]:
        """The same apply in this process (kube_local)."""
        return self._each_here(objects, lambda obj: kube.apply(obj, field_manager, self._task.check_mode))

    def _delete_here(self, kube, absent: list[dict]) -> tuple[bool, dict | None]:
        """Delete in this process and wait until each object is gone: (whether any existed, the failure)."""
        removed_any = False
        for obj in absent:
            try:
                removed_any = kube.delete(obj, self._task.check_mode) or removed_any
            except Exception as e:
                return removed_any, {"msg": f"{_ref(obj)}: {kube_local.api_error(e)}"}
        return removed_any, None

    def _wait(self, kube, phase: str, workloads: list[dict], timeout: int, task_vars: dict) -> str | None:
        """One wait per kind and namespace, selected by the labels the workloads share: polled here when
        kube is set, else one kubernetes.core.k8s_info wait."""
        groups: dict[tuple, list[dict]] = {}
        for obj in workloads:
            key = (obj["apiVersion"], obj["kind"], (obj.get("metadata") or {}).get("namespace"))
            groups.setdefault(key, []).append(obj)
        for (api_version, kind, namespace), objs in groups.items():
            labels = _common_labels(objs)
            names = {o["metadata"]["name"] for o in objs}
            selectors = [f"{k}={v}" for k, v in sorted(labels.items())] if labels and len(objs) > 1 else []
            if kube:
                try:
                    why = kube.wait(kind, api_version, namespace, names, selectors, timeout)
                except Exception as e:
                    why = f"reading {kind} failed: {kube_local.api_error(e)}"
                if why:
                    return f"phase {phase}: {why}"
                continue
            query = {"api_version": api_version, "kind": kind, "wait": True, "wait_sleep": 2,
                     "wait_timeout": timeout}
            if namespace:
                query["namespace"] = namespace
            if selectors:
                query["label_selectors"] = selectors
            else:
                query["name"] = objs[0]["metadata"]["name"]
            res = self._module("kubernetes.core.k8s_info", query, task_vars)
            if res.get("failed"):
                # Say which workloads are not ready and why, from one more read without waiting.
                query.pop("wait")
                now = self._module("kubernetes.core.k8s_info", query, task_vars)
                # Items of a list answer may lack their kind.
                why = {o["metadata"]["name"]: _not_ready({"kind": kind, **o}) for o in now.get("resources", [])}
                states = [f"{kind} {name}: {why[name]}" for name in sorted(names) if why.get(name)]
                return (f"phase {phase}: not ready after {timeout}s (wait_timeout): "
                        + ("; ".join(states) or res.get("msg", "")))
            found = {o["metadata"]["name"] for o in res.get("resources", [])}
            if names - found:
                return f"phase {phase}: {kind} {', '.join(sorted(names - found))} not found after apply"
        return None

    def _fail(self, result: dict, msg: str, module_result: dict) -> dict:
        result.update(failed=True, msg=f"{msg}: {module_result.get('msg', '')}".rstrip(": "))
        for key in ("error", "reason", "status"):
            if key in module_result:
                result[key] = module_result[key]
        return result

    def _render(self, result: dict, phases: list[dict], render_dir: str) -> dict:
        folder = os.path.abspath(os.path.expanduser(render_dir))
        written = []
        for item in phases:
            if item["objects"]:
                dest, changed = write_manifests(item["objects"], os.path.join(folder, f"{item['phase']}.yaml"),
                                                self._task.check_mode)
                written.append(dest)
                result["changed"] = result["changed"] or changed
        if written:
            result["dest"] = written[0] if len(written) == 1 else written
        return result
