"""The ``kubernetes`` launcher: one Job per run (docs/design.md §5, docs/many-machines.md).

The pod runs ``python -m shiftctl.worker.host --run RUN_ID``: it takes the run's job from
Redis (GETDEL: one pod, one run), and from there is exactly a worker host: the base bundle
from Redis, the same worker, the heartbeat and kill key through Redis, a signed return
checked by ``returns.accept``. The Redis URL and the pods' signing key come from a Secret
mounted as files: nothing secret in the environment, no service-account token mounted.
``render_job`` is pure and validated offline against the Kubernetes schema in the tests; the
API calls (``KubeApi``) sit behind the same launcher interface, untested without a cluster.
"""
from __future__ import annotations

import json
import os
import re
import ssl
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiftctl.admin.config import Config, LauncherConfig
from shiftctl.admin.launchers.base import LauncherError
from shiftctl.admin.launchers.rq import KEY_TTL_S, RqLauncher, base_bundle, job_timeout
from shiftctl.admin.paths import Paths
from shiftctl.memory.store import Run
from shiftctl.system import bundles, relay
from shiftctl.worker.spec import Spec

SECRET_DIR = "/var/run/shiftctl"
POD_UID = 10001
FINISHED_TTL_S = 3600


def job_name(run_id: str) -> str:
    """A DNS-1123 name for the run's Job (at most 63 characters)."""
    name = re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-")
    return f"shiftctl-{name}"[:63].rstrip("-")


def render_job(spec: Spec, launcher: LauncherConfig) -> dict[str, Any]:
    """The run's Job: one pod, never retried by Kubernetes (shiftctl decides retries), ended
    by ``activeDeadlineSeconds`` if the worker's own limits somehow did not end it."""
    labels = {"app.kubernetes.io/name": "shiftctl-worker",
              "app.kubernetes.io/managed-by": "shiftctl",
              "shiftctl.dev/run": job_name(spec.run_id)[len("shiftctl-"):]}
    resources = {"cpu": launcher.cpu, "memory": launcher.memory}
    container = {
        "name": "worker", "image": launcher.image, "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "shiftctl.worker.host"],
        "args": ["--run", spec.run_id, "--name", launcher.host_name,
                 "--key", f"{SECRET_DIR}/host-key",
                 "--redis-url-file", f"{SECRET_DIR}/redis-url", "--workdir", "/work"],
        "env": [{"name": "HOME", "value": "/home/worker"}],
        "resources": {"requests": resources, "limits": resources},
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "runAsUser": POD_UID, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "secret", "mountPath": SECRET_DIR, "readOnly": True},
                         {"name": "work", "mountPath": "/work"},
                         {"name": "home", "mountPath": "/home/worker"}],
    }
    pod = {
        "restartPolicy": "Never", "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": POD_UID, "fsGroup": POD_UID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "secret", "secret": {"secretName": launcher.secret,
                                                  "defaultMode": 0o400}},
                    {"name": "work", "emptyDir": {}}, {"name": "home", "emptyDir": {}}],
    }
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(spec.run_id), "namespace": launcher.namespace,
                         "labels": labels},
            "spec": {"backoffLimit": 0, "podReplacementPolicy": "Failed",
                     "activeDeadlineSeconds": job_timeout(spec),
                     "ttlSecondsAfterFinished": FINISHED_TTL_S,
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


class KubeApi:
    """The two calls the launcher makes to the API server (plain HTTPS, a bearer token from
    ``$token_env``, the cluster's CA)."""

    def __init__(self, launcher: LauncherConfig) -> None:
        self.settings = launcher

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        token = os.environ.get(self.settings.token_env, "")
        if not token:
            raise LauncherError(f"${self.settings.token_env} is not set: it must hold a token "
                                "allowed to create and delete Jobs in namespace "
                                f"{self.settings.namespace}")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.settings.api_url}{path}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        ctx = ssl.create_default_context(cafile=self.settings.ca_file
                                         if Path(self.settings.ca_file).exists() else None)
        try:
            with urllib.request.urlopen(req, timeout=30, context=ctx):
                return
        except OSError as exc:
            raise LauncherError(f"the Kubernetes API refused {method} {path}: {exc}") from None

    def create_job(self, manifest: dict[str, Any]) -> None:
        self._call("POST", f"/apis/batch/v1/namespaces/{self.settings.namespace}/jobs",
                   manifest)

    def delete_job(self, name: str) -> None:
        self._call("DELETE", f"/apis/batch/v1/namespaces/{self.settings.namespace}/jobs/{name}"
                   "?propagationPolicy=Background")


class KubernetesLauncher(RqLauncher):
    """Redis carries the job, the heartbeat, the kill key and the return, as for ``rq``;
    Kubernetes only starts (and, when stopped before it began, deletes) the pod."""

    kind = "kubernetes"

    def __init__(self, config: Config, paths: Paths | None = None,
                 api: KubeApi | None = None) -> None:
        super().__init__(config, paths)
        self.api = api or KubeApi(self.settings)

    def launch(self, spec: Spec, env: dict[str, str]) -> dict[str, Any]:
        data = base_bundle(Path(spec.repo), spec)
        if len(data) > bundles.MAX_BUNDLE_BYTES:
            raise LauncherError(f"the repository bundle for run {spec.run_id} is {len(data)} "
                                f"bytes (limit {bundles.MAX_BUNDLE_BYTES})")
        payload = self.payload(spec)
        ttl = job_timeout(spec) + KEY_TTL_S
        pipe = self.conn().pipeline()
        pipe.set(relay.base_key(spec.run_id), data, ex=ttl)
        pipe.set(relay.job_key(spec.run_id), json.dumps(payload), ex=ttl)
        pipe.execute()
        manifest = render_job(spec, self.settings)
        self.api.create_job(manifest)
        return {"handle": manifest["metadata"]["name"]}

    def _ask_waiting(self, pipe: Any, run: Run) -> None:
        pipe.exists(relay.job_key(run.id))

    def _waiting(self, answer: Any) -> bool:
        return bool(answer)

    def _starting(self, answer: Any) -> bool:
        return True  # a pod that took its job (or a Job never created): a lease to beat

    def stop(self, runs: Sequence[Run], grace: float) -> None:
        """A run no pod has taken yet: its job is withdrawn and its Job deleted. A running
        one: the kill key, as for ``rq`` (its pod then reports and ends)."""
        if not runs:
            return
        pipe = self.conn().pipeline()
        for run in runs:
            pipe.delete(relay.job_key(run.id))
        for run, withdrawn in zip(runs, pipe.execute(), strict=True):
            if withdrawn and run.handle:
                try:
                    self.api.delete_job(run.handle)
                except LauncherError:
                    pass  # its pod finds no job to take, and ends
        super().stop(runs, grace)
