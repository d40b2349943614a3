"""``spec.json``: everything a worker needs for one attempt, and nothing secret.

The admin builds it; the worker only reads it. Environment *names* travel here, never
values: the worker takes values from its own (already allowlisted) environment.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.system.kinds import AGENT_KINDS as AGENT_KINDS  # a profile's kinds


@dataclass
class AgentSpec:
    profile: str
    kind: str
    argv: list[str] = field(default_factory=list)
    model: str | None = None
    max_turns: int | None = None
    allowed_tools: list[str] = field(default_factory=list)
    permission_mode: str | None = None
    pass_env: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # "bwrap" or "none", resolved by the admin ("auto" never reaches a worker); a spec that
    # does not say is sandboxed
    sandbox: str = "bwrap"
    sandbox_hide: list[str] = field(default_factory=list)    # shown empty (admin's runtime)
    sandbox_expose: list[str] = field(default_factory=list)  # shown read-only (config)
    task_timeout: float = 3600
    stall_timeout: float = 600
    read_only: bool = False


@dataclass
class CheckSpec:
    name: str
    run: str
    timeout: float = 900


@dataclass
class TaskSpec:
    issue: int
    key: str
    title: str
    body: str = ""


@dataclass
class Spec:
    run_id: str
    run_dir: str
    repo: str
    worktree: str
    branch: str
    base_ref: str
    base_sha: str
    task: TaskSpec
    agent: AgentSpec
    prompt_file: str
    checks: list[CheckSpec] = field(default_factory=list)
    keep_branch: bool = False
    # the commit review saw last on the kept branch: the worker resets the branch to it, so a
    # retry never builds on whatever the branch was moved to since
    keep_head: str = ""
    wake_file: str | None = None
    heartbeat_s: float = 2.0
    commit_message: str = ""
    # "work": change and commit on ``branch``; "read": look only (planner, reviewer) at a
    # detached checkout of ``base_sha``; nothing is committed and the checkout is removed;
    # "verify": no agent, only ``checks`` on a detached checkout of ``base_sha``
    mode: str = "work"
    # what a sandboxed agent must not even read (the audit key's directory): hidden under an
    # empty mount
    hidden: list[str] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return Path(self.run_dir)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spec:
        data = dict(data)
        data["task"] = TaskSpec(**data["task"])
        data["agent"] = AgentSpec(**data["agent"])
        data["checks"] = [CheckSpec(**c) for c in data.get("checks", [])]
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> Spec:
        """The spec at ``path``, checked against the published schema; ``SpecError`` says
        what is wrong with it (a worker reports that as a failed run, never a traceback)."""
        from shiftctl.worker.protocol import ProtocolError, check
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SpecError(f"{path}: cannot be read as JSON: {exc}") from exc
        try:
            check("spec", data)
        except ProtocolError as exc:
            raise SpecError(f"{path}: {exc}") from exc
        return cls.from_dict(data)


class SpecError(ValueError):
    """A spec the worker cannot follow."""
