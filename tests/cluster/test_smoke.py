"""Smoke tests of the test cluster built by tests/kind/up.sh.

They drive `kubectl` with the kubeconfig named by the environment variable
KUBECONFIG and skip (with the reason) when no cluster answers there.

    KUBECONFIG=.work/kubeconfig python -m pytest tests/cluster -v

Checked: Pod Security "restricted" enforcement, Service DNS, dynamic PVC
provisioning through the default StorageClass, and NetworkPolicy enforcement.
Every test works in its own namespace and deletes it afterwards. Pods run the
toolbox image (busybox), named by AIRFLOW_K8S_TOOLBOX_IMAGE or, by default,
TOOLBOX_IMAGE in tests/kind/versions.env.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_ENV = REPO_ROOT / "tests" / "kind" / "versions.env"


def _versions() -> dict[str, str]:
    values = {}
    if VERSIONS_ENV.exists():
        for line in VERSIONS_ENV.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


VERSIONS = _versions()
TOOLBOX_IMAGE = os.environ.get("AIRFLOW_K8S_TOOLBOX_IMAGE") or VERSIONS.get("TOOLBOX_IMAGE", "")


def _kubectl_binary() -> str | None:
    explicit = os.environ.get("KUBECTL")
    if explicit:
        return explicit
    found = shutil.which("kubectl")
    if found:
        return found
    cache = os.environ.get("AIRFLOW_K8S_CACHE", "/var/cache/airflow-k8s")
    built = Path(cache) / "kubernetes" / VERSIONS.get("KUBERNETES_VERSION", "") / "bin" / "kubectl"
    return str(built) if built.exists() else None


KUBECTL = _kubectl_binary()


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: int = 120):
    """Runs kubectl; returns the CompletedProcess (text)."""
    proc = subprocess.run(
        [KUBECTL, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def apply(obj: dict, check: bool = True):
    return kubectl("apply", "-f", "-", stdin=json.dumps(obj), check=check)


@pytest.fixture(scope="session", autouse=True)
def cluster():
    """Skips every test when there is no cluster to talk to."""
    if KUBECTL is None:
        pytest.skip("no kubectl found (PATH, $KUBECTL or the cluster cache)")
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        pytest.skip("KUBECONFIG is not set: no cluster to test (run tests/kind/up.sh)")
    if not all(Path(p).exists() for p in kubeconfig.split(os.pathsep) if p):
        pytest.skip(f"KUBECONFIG={kubeconfig} does not exist: no cluster to test (run tests/kind/up.sh)")
    try:
        ready = kubectl("get", "--raw", "/readyz", check=False, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip(f"the cluster in {kubeconfig} does not answer (timeout)")
    if ready.returncode != 0:
        pytest.skip(f"the cluster in {kubeconfig} does not answer: {ready.stderr.strip()[:200]}")
    if not TOOLBOX_IMAGE:
        pytest.fail("no toolbox image: set AIRFLOW_K8S_TOOLBOX_IMAGE or TOOLBOX_IMAGE in tests/kind/versions.env")


@pytest.fixture
def namespace(request):
    """A fresh namespace, deleted (and waited for) after the test."""
    test = re.sub("[^a-z0-9]+", "-", request.node.originalname.lower().removeprefix("test_"))[:30].strip("-")
    name = f"smoke-{test}-{uuid.uuid4().hex[:6]}"
    labels = getattr(request, "param", {}) or {}
    apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    # the namespace's default service account appears asynchronously
    wait_for(lambda: kubectl("-n", name, "get", "serviceaccount", "default", check=False).returncode == 0,
             "default service account", 60)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=true", "--timeout=180s", check=False, timeout=200)


def wait_for(predicate, what: str, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


RESTRICTED_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "runAsGroup": 65534,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod(name: str, namespace: str, command: list[str], labels: dict | None = None,
        volumes: list | None = None, mounts: list | None = None, ports: list | None = None) -> dict:
    """A pod running the toolbox image that satisfies Pod Security "restricted"."""
    container = {
        "name": "main",
        "image": TOOLBOX_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "securityContext": RESTRICTED_SECURITY,
    }
    if mounts:
        container["volumeMounts"] = mounts
    if ports:
        container["ports"] = ports
    spec = {"containers": [container], "terminationGracePeriodSeconds": 0, "restartPolicy": "Never"}
    if volumes:
        spec["volumes"] = volumes
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }


WEB_COMMAND = [
    "sh", "-c",
    "mkdir -p /tmp/www && echo hello-airflow-k8s > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
]


def wait_ready(namespace: str, name: str, timeout: int = 180):
    kubectl("-n", namespace, "wait", "--for=condition=Ready", f"pod/{name}", f"--timeout={timeout}s",
            timeout=timeout + 20)


def pod_ip(namespace: str, name: str) -> str:
    return kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.podIP}").stdout.strip()


def fetch(namespace: str, client: str, url: str, timeout_s: int = 3):
    """wget URL from inside the client pod; returns the CompletedProcess.

    (busybox 1.35's `wget -T` crashes, so the time limit comes from `timeout`.)
    """
    return kubectl("-n", namespace, "exec", client, "--", "timeout", str(timeout_s), "wget", "-q", "-O", "-", url,
                   check=False, timeout=timeout_s + 30)


@pytest.mark.parametrize(
    "namespace",
    [{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}],
    indirect=True,
)
def test_pod_security_restricted(namespace):
    apply(pod("compliant", namespace, ["sleep", "3600"]))
    wait_ready(namespace, "compliant")

    bad = pod("privileged", namespace, ["sleep", "3600"])
    bad["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    rejected = apply(bad, check=False)
    assert rejected.returncode != 0, "a privileged pod was admitted into a restricted namespace"
    assert 'violates PodSecurity "restricted' in rejected.stderr, rejected.stderr

    root = pod("root", namespace, ["sleep", "3600"])
    del root["spec"]["containers"][0]["securityContext"]
    rejected = apply(root, check=False)
    assert rejected.returncode != 0, "a pod without the restricted security context was admitted"
    assert "violates PodSecurity" in rejected.stderr, rejected.stderr


def test_service_dns(namespace):
    apply(pod("web", namespace, WEB_COMMAND, labels={"app": "web"}, ports=[{"name": "http", "containerPort": 8080}]))
    apply({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    })
    apply(pod("client", namespace, ["sleep", "3600"]))
    wait_ready(namespace, "web")
    wait_ready(namespace, "client")
    cluster_ip = kubectl("-n", namespace, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()
    fqdn = f"web.{namespace}.svc.cluster.local"

    def resolves():
        out = kubectl("-n", namespace, "exec", "client", "--", "nslookup", fqdn, check=False, timeout=30)
        return out.returncode == 0 and cluster_ip in out.stdout

    wait_for(resolves, f"{fqdn} to resolve to {cluster_ip}", 60, 2)
    # the short name through the pod's search path, and the service answers
    body = fetch(namespace, "client", "http://web/")
    assert body.returncode == 0 and "hello-airflow-k8s" in body.stdout, body.stderr


def test_pvc_binds_through_default_storage_class(namespace):
    classes = json.loads(kubectl("get", "storageclass", "-o", "json").stdout)["items"]
    defaults = [c["metadata"]["name"] for c in classes
                if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert len(defaults) == 1, f"expected one default StorageClass, found {defaults}"

    apply({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    })
    writer = pod(
        "writer", namespace,
        ["sh", "-c", "echo persisted > /data/probe && cat /data/probe && sleep 3600"],
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        mounts=[{"name": "data", "mountPath": "/data"}],
    )
    writer["spec"]["securityContext"] = {"fsGroup": 65534}
    apply(writer)
    wait_ready(namespace, "writer", timeout=240)

    claim = json.loads(kubectl("-n", namespace, "get", "pvc", "data", "-o", "json").stdout)
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["storageClassName"] == defaults[0]
    volume = json.loads(kubectl("get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout)
    assert volume["spec"]["storageClassName"] == defaults[0]
    # Ready comes with the container's start; its first output can reach `kubectl logs` a moment later (an empty
    # answer once under a load of 16 on 2 CPUs, CI 2026-12-07): read until it is there, up to 30 s
    deadline = time.monotonic() + 30
    logs = kubectl("-n", namespace, "logs", "writer").stdout
    while "persisted" not in logs and time.monotonic() < deadline:
        time.sleep(1)
        logs = kubectl("-n", namespace, "logs", "writer").stdout
    assert "persisted" in logs


def test_network_policy_blocks_connection(namespace):
    apply(pod("server", namespace, WEB_COMMAND, labels={"app": "server"}))
    apply(pod("client", namespace, ["sleep", "3600"], labels={"app": "client"}))
    apply(pod("allowed", namespace, ["sleep", "3600"], labels={"app": "allowed"}))
    for name in ("server", "client", "allowed"):
        wait_ready(namespace, name)
    url = f"http://{pod_ip(namespace, 'server')}:8080/"

    # without a policy the connection works
    first = fetch(namespace, "client", url)
    assert first.returncode == 0 and "hello-airflow-k8s" in first.stdout, first.stderr

    apply({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "server-only-from-allowed", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {"app": "server"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "allowed"}}}],
                         "ports": [{"protocol": "TCP", "port": 8080}]}],
        },
    })
    # the policy blocks the client (enforcement is asynchronous: poll)
    wait_for(lambda: fetch(namespace, "client", url, 2).returncode != 0,
             "the NetworkPolicy to block client -> server", 60, 1)
    # and keeps allowing the pod it names
    allowed = fetch(namespace, "allowed", url)
    assert allowed.returncode == 0 and "hello-airflow-k8s" in allowed.stdout, allowed.stderr
    # the block holds on a second try
    assert fetch(namespace, "client", url, 2).returncode != 0

    # removing the policy restores the connection
    kubectl("-n", namespace, "delete", "networkpolicy", "server-only-from-allowed")
    wait_for(lambda: fetch(namespace, "client", url).returncode == 0,
             "the connection to work again without the NetworkPolicy", 60, 1)
