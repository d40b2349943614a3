"""A real worker process refuses a spec that breaks the published schema with a failed result
naming the field, never a traceback; the admin reads such a result as a failed run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shiftctl.worker.result import read

from support.project import Project


def run_worker(spec_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shiftctl.worker", str(spec_path)],
                          env=dict(os.environ), capture_output=True, text=True, timeout=60)


def test_a_spec_breaking_the_schema_is_a_failed_result_naming_the_field(tmp_path: Path) -> None:
    spec = {"run_id": "r1", "run_dir": str(tmp_path), "repo": str(tmp_path / "repo"),
            "worktree": str(tmp_path / "wt"), "branch": "b", "base_ref": "main",
            "base_sha": "HEAD~1; rm -rf /", "prompt_file": str(tmp_path / "p.md"),
            "task": {"issue": 1, "key": "t1", "title": "x"},
            "agent": {"profile": "p", "kind": "command", "argv": ["true"]}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = run_worker(tmp_path / "spec.json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    result = read(tmp_path / "result.json")
    assert result.outcome == "failed"
    assert "bad spec" in result.error and "base_sha" in result.error
    assert not (tmp_path / "wt").exists()  # nothing was done on its say-so


def test_a_spec_that_is_not_json_is_a_failed_result(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_bytes(b"\xff{not json")
    proc = run_worker(tmp_path / "spec.json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    result = read(tmp_path / "result.json")
    assert result.outcome == "failed" and "cannot be read as JSON" in result.error


def test_an_idle_cycle_never_loads_jsonschema(project: Project) -> None:
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from shiftctl.admin import config\n"
            "from shiftctl.admin.cycle.main import run_cycle\n"
            f"run_cycle(config.load(Path({str(project.root)!r})))\n"
            "show = lambda: print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'jsonschema', 'referencing'}))\n"
            "show()\n"
            "from shiftctl.worker.result import validated\n"
            "validated({'outcome': 'failed'})\n"
            "show()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    # idle: not loaded; reading a result: loaded (so the probe sees it when it is)
    assert proc.stdout.split("\n")[:2] == ["[]", "['jsonschema', 'referencing']"]
