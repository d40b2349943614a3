"""The kubernetes launcher end to end, with Kubernetes' own part played locally
(``LocalKube`` runs each rendered pod's command): the pods take their runs from a real
Redis, cannot see the admin's files, and their signed returns become one ready PR."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from shiftctl.admin.launchers import kubernetes

from support.project import Project
from support.rqhosts import Hosts, LocalKube

THREE = "".join(f"- [ ] part {i}\n  ```sh\n  echo {i} > part{i}.txt\n  ```\n"
                for i in range(1, 4))


@pytest.fixture
def local_kube(rq_hosts: Hosts, project: Project, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    key = tmp_path / "pods.key"
    reg = subprocess.run([sys.executable, "-m", "shiftctl.worker.host", "--register",
                          "--name", "kubernetes", "--key", str(key)], capture_output=True,
                         text=True, check=True)
    project.cli("hosts", "add", *reg.stdout.split())
    kube = LocalKube(rq_hosts, key)
    monkeypatch.setattr(kubernetes, "KubeApi", kube)
    project.configure(workers={"max_concurrent": 3, "launcher": {
        "kind": "kubernetes", "image": "registry.example/shiftctl:1", "namespace": "agents"}})
    yield kube
    kube.stop_all()


def test_three_tasks_as_three_jobs_end_in_one_ready_pr(local_kube: LocalKube,
                                                       project: Project) -> None:
    n = project.file_issue("Three parts", THREE)
    project.run(max_seconds=120)
    assert project.issue_state(n) == "done"
    prs = project.prs()
    assert len(prs) == 1 and prs[0]["draft"] is False
    runs = [r for r in project.runs(n) if r.kind == "work"]
    assert len(runs) == 3 and {(r.outcome, r.launcher, r.host) for r in runs} == \
        {("succeeded", "kubernetes", "kubernetes")}
    assert sorted(r.handle for r in runs) == sorted(m["metadata"]["name"]
                                                    for m in local_kube.created)
    for manifest in local_kube.created:
        kubernetes_validate.validate(manifest, "1.31", strict=True)
