"""The kubernetes launcher's Job: valid against the Kubernetes schema (offline), one pod
never retried by Kubernetes, bounded in time and resources, no token and no secret in its
environment."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from shiftctl.admin.config import ConfigError, parse
from shiftctl.admin.launchers.kubernetes import job_name, render_job
from shiftctl.admin.launchers.rq import job_timeout
from shiftctl.worker.spec import AgentSpec, CheckSpec, Spec, TaskSpec

K8S_VERSION = "1.31"
SETTINGS = {"kind": "kubernetes", "image": "registry.example/shiftctl-worker:1.0",
            "namespace": "agents", "cpu": "2", "memory": "4Gi", "secret": "worker-secret"}


def launcher() -> Any:
    return parse({"workers": {"launcher": SETTINGS}}, Path("/r")).workers.launcher


def spec(run_id: str = "12-t3-a2-9f0c1e") -> Spec:
    return Spec(run_id=run_id, run_dir="/r/runs/x", repo="/r", worktree="/r/wt", branch="b",
                base_ref="main", base_sha="a" * 40, task=TaskSpec(issue=12, key="t3", title="x"),
                agent=AgentSpec(profile="claude", kind="claude", task_timeout=1800,
                                pass_env=["ANTHROPIC_API_KEY"]),
                prompt_file="/r/runs/x/prompt.md", checks=[CheckSpec("tests", "pytest", 600)])


def validate(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_the_rendered_job_is_valid_kubernetes() -> None:
    validate(render_job(spec(), launcher()))


def test_the_validator_catches_a_broken_job() -> None:
    manifest = render_job(spec(), launcher())
    broken = copy.deepcopy(manifest)
    broken["spec"]["backoffLimit"] = "none"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    unknown = copy.deepcopy(manifest)
    unknown["spec"]["template"]["spec"]["hostPID"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(unknown)


def test_one_pod_never_retried_by_kubernetes_and_bounded_in_time() -> None:
    s = spec()
    job = render_job(s, launcher())["spec"]
    assert job["backoffLimit"] == 0 and job["podReplacementPolicy"] == "Failed"
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["activeDeadlineSeconds"] == job_timeout(s) == 1800 + 600 + 900


def test_no_token_and_no_secret_in_the_environment() -> None:
    pod = render_job(spec(), launcher())["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    [container] = pod["containers"]
    assert container["env"] == [{"name": "HOME", "value": "/home/worker"}]
    assert "envFrom" not in container
    secret = next(v for v in pod["volumes"] if "secret" in v)
    assert secret["secret"]["secretName"] == "worker-secret"
    mount = next(m for m in container["volumeMounts"] if m["name"] == secret["name"])
    assert mount["readOnly"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_resources_come_from_the_configuration() -> None:
    [container] = render_job(spec(), launcher())["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert container["image"] == SETTINGS["image"]
    assert container["args"][:2] == ["--run", "12-t3-a2-9f0c1e"]


@pytest.mark.parametrize("run_id", ["12-t3-a2-9f0c1e", "7-plan-a1-00aa11",
                                    "123456-" + "Ab_c." * 30 + "-a1-ffffff"])
def test_job_names_are_dns_names(run_id: str) -> None:
    name = job_name(run_id)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63
    validate(render_job(spec(run_id), launcher()))


def test_the_kubernetes_launcher_needs_an_image() -> None:
    with pytest.raises(ConfigError, match=r"workers\.launcher\.image"):
        parse({"workers": {"launcher": {"kind": "kubernetes"}}}, Path("/r"))
