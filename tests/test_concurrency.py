"""Assign: independent tasks run side by side; tasks whose paths overlap never do."""
from __future__ import annotations

import json

from conftest import Project, agent_argv

BODY = """\
- [ ] (parallel) alpha writes in shared/
  paths: shared/
- [ ] (parallel) beta writes shared/beta.txt
  paths: shared/beta.txt
- [ ] (parallel) gamma writes its own file
  paths: gamma/
- [ ] (parallel) delta writes its own file
  paths: delta/
"""


def test_overlapping_paths_never_run_together_independent_tasks_do(project: Project,
                                                                   tmp_path) -> None:
    log = tmp_path / "agent.log"
    project.configure(agents={"default": "sleeper", "profiles": {"sleeper": {
        "kind": "command", "argv": agent_argv("scripted.py"),
        "env": {"AGENT_SLEEP": "1.5", "AGENT_LOG": str(log),
                "AGENT_WRITE": "out/{task}.txt:{task}"}}}})
    n = project.file_issue("Four tasks", BODY)
    project.run()
    assert {t.state for t in project.tasks(n).values()} == {"done"}

    spans = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        spans[rec["task"].split()[0]] = (rec["start"], rec["end"])
    assert set(spans) == {"alpha", "beta", "gamma", "delta"}

    def overlap(a: str, b: str) -> bool:
        return spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]

    assert not overlap("alpha", "beta")  # shared/ contains shared/beta.txt
    assert overlap("gamma", "delta")
    assert overlap("alpha", "gamma") or overlap("beta", "gamma")


def test_concurrency_ceiling_is_respected(project: Project, tmp_path) -> None:
    log = tmp_path / "agent.log"
    project.configure(workers={"max_concurrent": 2}, agents={"default": "sleeper", "profiles": {
        "sleeper": {"kind": "command", "argv": agent_argv("scripted.py"),
                    "env": {"AGENT_SLEEP": "1", "AGENT_LOG": str(log),
                            "AGENT_WRITE": "out/{task}.txt:{task}"}}}})
    body = "".join(f"- [ ] (parallel) task{i} file\n" for i in range(5))
    n = project.file_issue("Five tasks", body)
    project.run()
    assert {t.state for t in project.tasks(n).values()} == {"done"}
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    peak = running = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2
