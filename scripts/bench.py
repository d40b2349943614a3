"""shiftctl benchmarks: idle cost, orchestration overhead, throughput, scale, wake latency,
webhook latency, what the dashboard costs the admin, the per-run cost of the bwrap sandbox and
the rq launcher over four worker hosts on one Redis (``--only rq``).

    python scripts/bench.py [--quick] [--json FILE] [--only idle,idle_cost,...]

Everything is real: git repositories in a temporary directory, the SQLite files, worker and
agent processes, and the loop as supervisord runs it (``scripts/shift-loop.sh``: one
``shiftctl cycle`` process per cycle, then ``shiftctl nap``). Agents are scripted (the
``shell`` agent runs the task's ``sh`` block), so the figures measure shiftctl, not a model.
Where a figure needs a model (idle cost, Claude Code's own overhead), the real ``claude``
CLI talks to the scripted model server of the tests (``tests/model_server``); GitHub is the
tests' fake (``tests/github_fake``). Section helpers come from ``tests/`` (``support``,
``model_server``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]  # the test helpers (shiftctl itself is installed)

# These imports need the sys.path line above (the test helpers live in tests/).
from shiftctl.memory.db import StateError  # noqa: E402
from shiftctl.system import sandbox  # noqa: E402

from model_server import ModelServer, Script, act, say, status_block, tool  # noqa: E402
from support.agents import AGENT_BIN  # noqa: E402
from support.project import Project  # noqa: E402
from support.repos import make_repo  # noqa: E402
from support.worker import run_worker  # noqa: E402

SHIFTCTL = [sys.executable, "-m", "shiftctl"]
# The default naps: a cycle whose successor has new work is followed at once, so
# ``after_action`` only applies to a cycle that would repeat itself.
SLEEP = {"after_action": 5, "busy": 300, "idle": 1800, "wake_check": 30}
NAIVE_PROMPT = "Check the issue tracker for new work and do it."
CLAUDE_ENV = {"ANTHROPIC_API_KEY": "sk-ant-bench-not-a-real-key"}


@dataclass(frozen=True)
class Sizes:
    idle_cycles: int = 20
    idle_cost_window_s: float = 60.0
    tasks_tiny: int = 50
    tasks_10k: int = 20
    claude_runs: int = 10
    throughput_waves: int = 3
    scale_cycles: int = 20
    sandbox_runs: int = 20
    library_rows: int = 2000
    webhooks: int = 10
    serve_rounds: int = 4


FULL = Sizes()
QUICK = Sizes(idle_cost_window_s=20.0, tasks_tiny=20, tasks_10k=5, claude_runs=3,
              throughput_waves=1, scale_cycles=5, webhooks=3, serve_rounds=2)


@dataclass
class Bench:
    work: Path
    sizes: Sizes
    claude: str | None  # the Claude Code CLI, when installed

    def project(self, name: str, **config: Any) -> Project:
        p = Project(make_repo(self.work / name / "repo"))
        p.configure(**{"sleep": SLEEP, "limits": {"max_tasks_per_issue": 200,
                                                  "max_runs_per_issue": 400}, **config})
        return p


# -- processes and timing ----------------------------------------------------------------------
def isolate(work: Path) -> None:
    """What the tests' autouse fixture does: own HOME, git identity, no system git config."""
    home = work / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@test.invalid\n"
                                     "[init]\n\tdefaultBranch = main\n")
    os.environ.update({"HOME": str(home), "USER": "alice", "GIT_CONFIG_NOSYSTEM": "1"})
    os.environ.pop("SHIFTCTL_FAULT", None)


def reap(proc: subprocess.Popen[Any]) -> float:
    """Wait for ``proc``; its CPU seconds and those of the descendants it waited for
    (``wait4``: only this child's, whatever else the bench runs meanwhile)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def timed_cli(repo: Path, *args: str) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one ``shiftctl`` process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*SHIFTCTL, "-C", str(repo), *args], stdout=out, stderr=err)
        cpu = reap(proc)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"shiftctl {' '.join(args)}: {err.read()}")
        return wall, cpu, out.read()


def bare_python() -> float:
    """Wall time of ``python -c pass`` with the same interpreter: the floor of any cycle."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def idle_cycle(repo: Path) -> tuple[float, float]:
    wall, cpu, out = timed_cli(repo, "cycle", "--json")
    if json.loads(out)["rung"] != "sleep":
        raise RuntimeError(f"expected an idle cycle, got {out}")
    return wall, cpu


@dataclass
class Usage:
    wall: float
    cpu: float      # the loop's own CPU: cycles, naps and the git they run, not the workers
    cycles: int


class Loop:
    """``scripts/shift-loop.sh`` in the background, as ``shiftctl supervise`` runs it.

    Each cycle and nap is a child of the shell, so the shell's rusage is the admin's CPU;
    workers start in their own session and are reparented when their cycle exits, so their
    CPU is not in it.
    """

    def __init__(self, repo: Path, env: dict[str, str] | None = None) -> None:
        self.repo = repo
        self.log = repo / ".shiftctl" / "bench-loop.log"
        self.log.parent.mkdir(exist_ok=True)
        self.t0 = time.perf_counter()
        self.usage: Usage | None = None
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "shift-loop.sh")], stdout=out,
                stderr=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, **(env or {}), "SHIFTCTL": " ".join(SHIFTCTL),
                     "SHIFTCTL_REPO": str(repo)})

    def wait_for(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.repo}: not done after {timeout:.0f} s "
                                   f"(see {self.log} and .shiftctl/logs/)")
            time.sleep(0.2)

    def stop(self) -> Usage:
        """Stop the loop (once: a second call returns the same figures)."""
        if self.usage is not None:
            return self.usage
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:  # the loop ended on its own: reap says how
            pass
        cpu = reap(self.proc)
        cycles = sum(1 for line in self.log.read_text().splitlines() if line.startswith("{"))
        self.usage = Usage(time.perf_counter() - self.t0, cpu, cycles)
        return self.usage


def merged_at(p: Project) -> dict[str, float]:
    """Task ref -> when the cycle that merged it (and updated the PR) ended."""
    try:
        s = p.store()
    except (OSError, StateError, sqlite3.Error):  # not created yet
        return {}
    try:
        out: dict[str, float] = {}
        for ts, data in s.conn.execute("SELECT ts, data FROM events WHERE kind = 'cycle'"):
            for action in json.loads(data).get("actions") or []:
                if action.startswith("merge "):
                    out[action.split()[1]] = ts
        return out
    finally:
        s.close()


def merged(p: Project, n: int) -> Callable[[], bool]:
    return lambda: len(merged_at(p)) >= n


def checklist(n: int, *, sleep: float = 0.0) -> str:
    """n independent tasks for the ``shell`` agent, each writing its own file."""
    wait = f"sleep {sleep} && " if sleep else ""
    return "".join(f"- [ ] (parallel) t{i:03d}\n  paths: out/t{i:03d}.txt\n  ```sh\n"
                   f"  mkdir -p out && {wait}echo {i} > out/t{i:03d}.txt\n  ```\n"
                   for i in range(n))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


@dataclass
class TaskTimes:
    ref: str
    started: float       # the cycle that spawned its first run began
    merged: float        # the cycle that merged it (and updated the PR) ended
    agent: float         # the agents' own time, over all its runs
    results: list[dict[str, Any]]


def task_times(p: Project) -> list[TaskTimes]:
    """Per merged task, from the state db, the cycle log and each run's result.json."""
    merges = merged_at(p)
    s = p.store()
    try:
        out = []
        for task in s.tasks(states=("done",)):
            runs = [r for r in s.runs(task_id=task.id) if r.kind == "work"]
            results = [json.loads((Path(r.run_dir) / "result.json").read_text()) for r in runs]
            agent = sum(r["agent_ended_at"] - r["agent_started_at"] for r in results)
            out.append(TaskTimes(task.ref, runs[0].started_at, merges[task.ref], agent,
                                 results))
        return out
    finally:
        s.close()


def run_tasks(bench: Bench, name: str, n: int, *, concurrent: int, sleep: float = 0.0,
              files: int = 0) -> tuple[Project, Usage]:
    """One issue of n independent tasks, run to done by the loop."""
    p = bench.project(name, workers={"max_concurrent": concurrent})
    if files:
        add_files(p.root, files)
    p.file_issue(name, checklist(n, sleep=sleep))
    loop = Loop(p.root)
    loop.wait_for(merged(p, n), timeout=120 + n * (sleep + 5) / concurrent)
    return p, loop.stop()


def add_files(repo: Path, n: int) -> None:
    for i in range(n):
        d = repo / "src" / f"d{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.py").write_text(f"X = {i}\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", f"{n} files"], cwd=repo, check=True)


# -- sections ---------------------------------------------------------------------------------
def inprocess_cycles(p: Project, n: int) -> tuple[list[float], list[int]]:
    """Wall time and tracker requests of n idle cycles run in this process (after one more
    that loads what the first cycle of a process loads)."""
    from shiftctl.admin.cycle.main import run_cycle
    config = p.config
    run_cycle(config)
    times, requests = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        r = run_cycle(config)
        times.append(time.perf_counter() - t0)
        if r.rung != "sleep":
            raise RuntimeError(f"expected an idle cycle, got {r.to_json()}")
        requests.append(r.tracker_requests)
    return times, requests


def section_idle(bench: Bench) -> dict[str, Any]:
    """Idle cycles after an issue ran to done: wall and CPU of ``shiftctl cycle``, in-process
    time, and tracker requests (local tracker; GitHub against the fake)."""
    p = bench.project("idle")
    p.file_issue("warm up", checklist(1))
    p.cli("run", "--until-idle")
    idle_cycle(p.root)  # compiles what the first cycle imports (as pip does at install)
    walls, cpus, bare = [], [], []
    for _ in range(bench.sizes.idle_cycles):  # interleaved: load changes hit both alike
        wall, cpu = idle_cycle(p.root)
        walls.append(wall)
        cpus.append(cpu)
        bare.append(bare_python())
    inproc, requests = inprocess_cycles(p, bench.sizes.idle_cycles)
    out: dict[str, Any] = {
        "idle_cycle_ms": round(median(walls) * 1000, 1),
        "idle_cycle_cpu_ms": round(median(cpus) * 1000, 1),
        "bare_python_ms": round(median(bare) * 1000, 1),
        "idle_cycle_startup_ratio": round(median(walls) / median(bare), 2),
        "idle_cycle_inprocess_ms": round(median(inproc) * 1000, 2),
        "requests_per_idle_cycle": {"local": max(requests)}}
    github = github_idle(bench)
    out["requests_per_idle_cycle"]["github"] = github.pop("requests")
    out.update(github)
    return out


def github_idle(bench: Bench) -> dict[str, Any]:
    from github_fake.spec import SpecMissing, spec_dict
    from support.github import TOKEN, TOKEN_ENV, GithubProject, start_github
    try:
        spec_dict()  # the fake's answers are built from GitHub's own examples
    except SpecMissing as exc:
        print(f"  github: skipped: {exc}", file=sys.stderr)
        return {"requests": None}
    os.environ[TOKEN_ENV] = TOKEN
    p = GithubProject(make_repo(bench.work / "idle-github" / "repo"))
    p.gh = start_github(p.root, bench.work / "idle-github", validate=False)
    try:
        p.configure(sleep=SLEEP)
        p.file_issue("warm up", checklist(1))
        p.cli("run", "--until-idle")
        counts, walls = [], []
        for _ in range(bench.sizes.idle_cycles + 1):
            mark = p.gh.fake.mark()
            walls.append(idle_cycle(p.root)[0])
            counts.append(len(p.gh.fake.since(mark)))
        quota = p.gh.fake.quota(p.bot)
        return {"requests": max(counts[1:]), "idle_cycle_ms_github": round(
            median(walls[1:]) * 1000, 1), "github_idle_quota_used": quota.used}
    finally:
        p.gh.fake.stop()


def claude_profile(cli: str) -> dict[str, Any]:
    return {"kind": "claude", "argv": [cli], "model": "sonnet", "max_turns": 8,
            "pass_env": sorted(["ANTHROPIC_BASE_URL", *CLAUDE_ENV])}


def per_hour(value: float, seconds: float) -> float:
    return round(value * 3600 / seconds, 1)


def model_traffic(server: ModelServer, seconds: float) -> dict[str, float]:
    """Requests, tokens (input estimated at 4 bytes a token, as count_tokens does; output as
    scripted) and request megabytes that reached ``server``, per hour."""
    model = [s for s in server.served if s.api in ("anthropic", "openai")]
    sent = sum(s.body_bytes for s in model)
    tokens = sent // 4 + sum(s.output_tokens for s in model)
    return {"requests_per_hour": per_hour(len(model), seconds),
            "tokens_per_hour": per_hour(tokens, seconds),
            "request_mb_per_hour": per_hour(sent / 1e6, seconds)}


def section_idle_cost(bench: Bench) -> dict[str, Any]:
    """shiftctl's loop and ``while true; do claude -p PROMPT; done`` side by side, over the
    same window, each against its own scripted model server (same script)."""
    cli = bench.claude
    if cli is None:
        return {}
    window = bench.sizes.idle_cost_window_s
    claude = {"default": "claude", "profiles": {"claude": claude_profile(cli)}}
    p = bench.project("idle-cost", agents=claude, planner={"kind": "agent", "profile": "claude"},
                      review={"judge": "claude"}, sleep={**SLEEP, "idle": 5, "wake_check": 5})
    p.file_issue("Not for shiftctl", "No intake label: a person's note.", labels=())
    naive_repo = make_repo(bench.work / "idle-cost" / "naive")
    with ModelServer() as ours, ModelServer() as naive:
        loop = Loop(p.root, {**CLAUDE_ENV, "ANTHROPIC_BASE_URL": ours.url})
        spinner = subprocess.Popen(
            ["bash", "-c", 'while true; do "$CLAUDE" -p "$PROMPT" >/dev/null 2>&1; done'],
            cwd=naive_repo, start_new_session=True, stdout=subprocess.DEVNULL,
            env={**os.environ, **claude_env(naive), "CLAUDE": cli, "PROMPT": NAIVE_PROMPT})
        time.sleep(window)
        os.killpg(spinner.pid, signal.SIGTERM)
        spinner.wait()
        usage = loop.stop()
        mine, theirs = model_traffic(ours, usage.wall), model_traffic(naive, window)
    return {"idle_cost_window_s": window, "idle_cost_cycles": usage.cycles,
            "idle_tokens_per_hour": mine["tokens_per_hour"],
            "idle_requests_per_hour": mine["requests_per_hour"],
            "naive_tokens_per_hour": theirs["tokens_per_hour"],
            "naive_requests_per_hour": theirs["requests_per_hour"],
            "naive_request_mb_per_hour": theirs["request_mb_per_hour"]}


def claude_env(server: ModelServer) -> dict[str, str]:
    from shiftctl.worker.agents.claude import (
        ENV_DEFAULTS,  # what shiftctl gives claude: offline, quiet
    )
    return {**ENV_DEFAULTS, **CLAUDE_ENV, "ANTHROPIC_BASE_URL": server.url}


def section_overhead(bench: Bench) -> dict[str, Any]:
    """Per task, one worker at a time: assign cycle start to the end of the cycle that
    merged it and updated the PR, minus the agent's own time."""
    out: dict[str, Any] = {}
    for label, n, files in (("", bench.sizes.tasks_tiny, 0),
                            ("_10k_files", bench.sizes.tasks_10k, 10_000)):
        p, _ = run_tasks(bench, f"overhead{label or '_tiny'}", n, concurrent=1, files=files)
        overheads = [t.merged - t.started - t.agent for t in task_times(p)]
        out[f"task_overhead_s_median{label}"] = round(median(overheads), 3)
        out[f"task_overhead_s_p95{label}"] = round(pct(overheads, 0.95), 3)
    return out


def section_claude(bench: Bench) -> dict[str, Any]:
    """Claude Code as the worker agent (one Write, then a final message with the status
    block), one run at a time: what the worker adds around the CLI."""
    cli = bench.claude
    if cli is None:
        return {}
    n = bench.sizes.claude_runs
    p = bench.project("claude", agents={"default": "claude",
                                        "profiles": {"claude": claude_profile(cli)}},
                      workers={"max_concurrent": 1})
    titles = [f"Write greeting {i:02d}" for i in range(n)]
    issue = p.file_issue("Greetings", "".join(f"- [ ] (parallel) {t}\n" for t in titles))
    script = Script()
    for i, title in enumerate(titles):
        wt = p.root / ".shiftctl" / "worktrees" / f"{issue}-t{i + 1}"
        script.add(f"# Your task: {title}",
                   act(tool("Write", file_path=str(wt / f"greeting-{i:02d}.txt"),
                            content="hello\n")),
                   say("Done.\n\n" + status_block("done", summary=f"wrote greeting {i:02d}")))
    with ModelServer(script) as server:
        loop = Loop(p.root, {**CLAUDE_ENV, "ANTHROPIC_BASE_URL": server.url})
        loop.wait_for(merged(p, n), timeout=60 + 30 * n)
        loop.stop()
    times = task_times(p)
    results = [r for t in times for r in t.results]
    return {
        "claude_runs": len(results),
        "claude_task_overhead_s_median": round(median(
            [t.merged - t.started - t.agent for t in times]), 3),
        "claude_run_overhead_start_s": round(median(
            [r["agent_started_at"] - r["started_at"] for r in results]), 3),
        "claude_run_overhead_end_s": round(median(
            [r["ended_at"] - r["agent_ended_at"] for r in results]), 3),
        "claude_agent_s": round(median(
            [r["agent_ended_at"] - r["agent_started_at"] for r in results]), 3)}


def section_throughput(bench: Bench) -> dict[str, Any]:
    """N workers, agents that sleep 5 s, N x waves tasks: tasks merged per minute from the
    first spawn to the last merge, as a fraction of N per 5 s."""
    out: dict[str, Any] = {}
    sleep, waves = 5.0, bench.sizes.throughput_waves
    for n in (1, 4, 16):
        p, usage = run_tasks(bench, f"throughput-{n}", n * waves, concurrent=n, sleep=sleep)
        times = task_times(p)
        elapsed = max(t.merged for t in times) - min(t.started for t in times)
        out[f"throughput_ratio_n{n}"] = round(waves * sleep / elapsed, 3)
        out[f"admin_cpu_share_n{n}"] = round(usage.cpu / usage.wall, 3)
    return out


def populate(p: Project, n_tasks: int) -> None:
    """A history of n_tasks merged tasks, 10 per issue (issues closed on the tracker), through
    the same store and tracker calls the admin makes."""
    from shiftctl.memory import episodes
    from shiftctl.memory.db import transaction
    from shiftctl.memory.store import Issue, Run, Store, Task
    n_issues = max(1, n_tasks // 10)
    t = p.tracker()
    try:
        with transaction(t.conn):
            for _ in range(n_issues):
                number = t.new_issue("old work", checklist(10), ["shiftctl"], "alice").number
                t.close_issue(number)
    finally:
        t.close()
    s = Store.open(p.root / ".shiftctl" / "state.db")
    try:
        now = time.time() - 86400
        with s.tx():
            for number in range(1, n_issues + 1):
                s.add_issue(Issue(number=number, title="old work", state="active",
                                  author="alice", labels=["shiftctl"], branch=f"b{number}"))
                for k in range(10):
                    task = Task(id=0, issue=number, key=f"t{k + 1}", title=f"t{k}",
                                state="ready", position=k)
                    task.id = s.add_task(task)
                    run = Run(id=f"r{number}-{k}", issue=number, task_id=task.id,
                              started_at=now, run_dir="/nonexistent")
                    s.start_run(run, task)
                    s.finish_run(run, task, ended_at=now + 60, outcome="succeeded",
                                 cost_usd=0.01)
                    episodes.record(s.conn, episodes.Episode(
                        run_id=run.id, issue=number, outcome="succeeded", task_id=task.id,
                        task_key=task.key, title=task.title, summary="did it"))
                    s.set_task_state(task, "done")
                s.set_issue_state(number, "closed", tracker_state="closed")
    finally:
        s.close()


def section_scale(bench: Bench) -> dict[str, Any]:
    """Idle cycles with a history of 10, 1,000 and 10,000 tasks."""
    walls, inproc = {}, {}
    for size in (10, 1000, 10_000):
        p = bench.project(f"scale-{size}")
        p.cli("cycle")  # creates and migrates the state db
        populate(p, size)
        p.cli("run", "--until-idle")  # whatever the history makes due (maintenance) is done
        walls[size] = median([idle_cycle(p.root)[0] for _ in range(bench.sizes.scale_cycles)])
        inproc[size] = median(inprocess_cycles(p, bench.sizes.scale_cycles)[0])
    return {"idle_cycle_ms_by_tasks": {k: round(v * 1000, 1) for k, v in walls.items()},
            "idle_cycle_inprocess_ms_by_tasks": {k: round(v * 1000, 2)
                                                 for k, v in inproc.items()},
            "scale_ratio_10k_vs_10": round(walls[10_000] / walls[10], 3),
            "scale_ratio_10k_vs_10_inprocess": round(inproc[10_000] / inproc[10], 3)}


def section_wake(bench: Bench) -> dict[str, Any]:
    """A ``priority:critical`` intake issue filed on the tracker 1 s into a 30-minute nap
    (no wake file): how long until the nap returns. Bounded by ``sleep.wake_check`` (30 s)."""
    p = bench.project("wake")
    p.cli("cycle")
    nap = subprocess.Popen([*SHIFTCTL, "-C", str(p.root), "nap", "1800"],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    t0 = time.perf_counter()
    p.file_issue("fire", checklist(1), labels=("shiftctl", "priority:critical"))
    out, _ = nap.communicate(timeout=120)
    latency = time.perf_counter() - t0
    if out.strip() != "critical":
        raise RuntimeError(f"the nap woke for {out.strip()!r}, not the critical issue")
    return {"wake_latency_s": round(latency, 2)}


def import_ms(module: str, runs: int = 7) -> float:
    """Fastest of ``runs`` fresh interpreters: what importing ``module`` adds to a process."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout) for _ in range(runs)) * 1000


def section_libraries(bench: Bench) -> dict[str, Any]:
    """The two declared libraries shiftctl does not use, measured where they would serve
    (docs/design.md §14): what importing each adds to a cycle, an insert of one event-sized
    row through sqlite-utils against the store's prepared statement, and reading a ref
    through GitPython against one hardened ``git`` call."""
    import git as gitpython
    import sqlite_utils

    from shiftctl.system import git
    rows = [{"kind": "task.state", "issue": i, "data": json.dumps({"n": i}), "ts": time.time()}
            for i in range(bench.sizes.library_rows)]
    work = bench.work / "libraries"
    work.mkdir(parents=True, exist_ok=True)

    def timed_inserts(make: Callable[[sqlite3.Connection], Callable[[dict[str, Any]], object]]
                      ) -> float:
        """Microseconds per row, with the disk out of it (no sync, journal in memory): what
        the library adds, not what fsync costs."""
        conn = sqlite3.connect(work / f"t{time.monotonic_ns()}.db", isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = MEMORY")
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, issue INTEGER, "
                     "data TEXT, ts REAL)")
        insert = make(conn)
        t0 = time.perf_counter()
        for row in rows:
            insert(row)
        conn.close()
        return (time.perf_counter() - t0) / len(rows) * 1e6

    def raw(conn: sqlite3.Connection) -> Callable[[dict[str, Any]], object]:
        sql = "INSERT INTO events (kind, issue, data, ts) VALUES (?, ?, ?, ?)"
        return lambda row: conn.execute(sql, tuple(row.values()))

    def utils(conn: sqlite3.Connection) -> Callable[[dict[str, Any]], object]:
        return sqlite_utils.Database(conn)["events"].insert

    repo = make_repo(work / "repo")
    n = bench.sizes.library_rows // 10
    t0 = time.perf_counter()
    for _ in range(n):
        git.rev(repo, "refs/heads/main")
    ours = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    shas = {gitpython.Repo(repo).commit("refs/heads/main").hexsha for _ in range(n)}
    theirs = (time.perf_counter() - t0) / n
    if shas != {git.rev(repo, "refs/heads/main")}:
        raise RuntimeError(f"GitPython read {shas}, git says otherwise")
    return {"import_ms_sqlite_utils": round(import_ms("sqlite_utils"), 1),
            "import_ms_gitpython": round(import_ms("git"), 1),
            "import_ms_shiftctl_cycle": round(import_ms("shiftctl.admin.cycle.main"), 1),
            "insert_us_raw": round(timed_inserts(raw), 1),
            "insert_us_sqlite_utils": round(timed_inserts(utils), 1),
            "ref_read_ms_git": round(ours * 1000, 2),
            "ref_read_ms_gitpython": round(theirs * 1000, 2)}


def section_sandbox(bench: Bench) -> dict[str, Any]:
    """Per-run cost of bwrap: the same trivial ``command`` agent (writes one file), one
    worker process at a time, ``sandbox_runs`` times each way: the whole worker (worktree,
    agent, commit) and the agent alone, median, bwrap minus none."""
    if sandbox.probe() is not None:
        print(f"bwrap cannot run here ({sandbox.probe()}): sandbox section skipped",
              file=sys.stderr)
        return {}
    work = bench.work / "sandbox"
    repo = make_repo(work / "repo")
    argv = ["bash", "-c", "echo done > out.txt"]
    worker: dict[str, list[float]] = {"none": [], "bwrap": []}
    agent: dict[str, list[float]] = {"none": [], "bwrap": []}
    for i in range(bench.sizes.sandbox_runs):
        for kind in ("none", "bwrap"):  # interleaved: load changes hit both alike
            t0 = time.perf_counter()
            r = run_worker(work, argv=argv, repo=repo, name=f"{kind}-{i}", sandbox_kind=kind)
            worker[kind].append(time.perf_counter() - t0)
            if r["outcome"] != "succeeded":
                raise RuntimeError(f"sandbox bench run {kind}-{i}: {r['error']}")
            agent[kind].append(r["agent_ended_at"] - r["agent_started_at"])
    return {"sandbox_runs": bench.sizes.sandbox_runs,
            "sandbox_worker_s_median_none": round(median(worker["none"]), 3),
            "sandbox_worker_s_median_bwrap": round(median(worker["bwrap"]), 3),
            "sandbox_agent_ms_median_none": round(median(agent["none"]) * 1000, 1),
            "sandbox_agent_ms_median_bwrap": round(median(agent["bwrap"]) * 1000, 1),
            "sandbox_overhead_ms_per_run": round(
                (median(worker["bwrap"]) - median(worker["none"])) * 1000, 1)}


@contextmanager
def serving(repo: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    """``shiftctl serve`` for ``repo`` as its own process (stopped on leaving)."""
    from support.serve import start_serve
    served = start_serve(repo, env={**os.environ, **(env or {})})
    try:
        yield served
    finally:
        served.stop()


def is_planned(p: Project, number: int) -> bool:
    try:
        s = p.store()
    except (OSError, StateError, sqlite3.Error):
        return False
    try:
        return bool(s.tasks(issue=number))
    finally:
        s.close()


def napping(p: Project, since: float) -> Callable[[], bool]:
    """The loop's last cycle ended after ``since`` and asked for a long nap: it naps now."""
    def check() -> bool:
        s = p.store()
        try:
            last = s.last_cycle()
            return bool(last and last.ended_at and last.ended_at > since
                        and (last.sleep_s or 0) >= SLEEP["busy"] and not s.open_runs())
        finally:
            s.close()
    return check


def section_webhook(bench: Bench) -> dict[str, Any]:
    """A labelled issue filed on (fake) GitHub while the supervised loop naps for 30 minutes
    (``scripts/shift-loop.sh``, one process per cycle): the signed ``issues.labeled`` webhook
    goes to ``shiftctl serve``, and the clock runs until the issue has tasks. Polling alone
    would take up to ``sleep.wake_check`` (30 s; ``wake_latency_s``)."""
    from github_fake.spec import SpecMissing, spec_dict
    from support.github import TOKEN, TOKEN_ENV, GithubProject, start_github
    from support.webhooks import EXAMPLES, SECRET, SECRET_ENV, about, deliver, example
    try:
        spec_dict()
    except SpecMissing as exc:
        print(f"  webhook: skipped: {exc}", file=sys.stderr)
        return {}
    if not EXAMPLES.exists():
        print(f"  webhook: skipped: {EXAMPLES} is missing (scripts/test.sh installs it)",
              file=sys.stderr)
        return {}
    os.environ[TOKEN_ENV] = TOKEN
    p = GithubProject(make_repo(bench.work / "webhook" / "repo"))
    p.gh = start_github(p.root, bench.work / "webhook", validate=False)
    latencies = []
    try:
        p.configure(sleep=SLEEP)
        p.cli("cycle")
        with serving(p.root, {SECRET_ENV: SECRET}) as served:
            loop = Loop(p.root)
            try:
                for i in range(bench.sizes.webhooks):
                    loop.wait_for(napping(p, time.time()), timeout=120)
                    time.sleep(0.5)
                    n = p.file_issue(f"hook {i}", checklist(1))
                    payload = about(example("issues", "labeled"),
                                    f"{p.gh.world.owner}/{p.gh.world.name}", number=n)
                    payload["label"]["name"] = "shiftctl"
                    t0 = time.perf_counter()
                    if deliver(served, "issues", payload).status != 200:
                        raise RuntimeError("the webhook was refused")
                    loop.wait_for(lambda n=n: is_planned(p, n), timeout=60)
                    latencies.append(time.perf_counter() - t0)
            finally:
                loop.stop()
    finally:
        p.gh.fake.stop()
    return {"webhook_wake_s": round(median(latencies), 2),
            "webhook_wake_s_max": round(max(latencies), 2)}


class Watching:
    """A dashboard left open: one page on the live stream, fetching the overview's live part
    on every change, as the browser does."""

    def __init__(self, served: Any) -> None:
        import http.client
        import threading
        self.served = served
        self.fetches = 0
        self._conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        self._conn.request("GET", "/live")
        self._resp = self._conn.getresponse()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        try:
            for line in self._resp:
                if line.startswith(b"event: change"):
                    self.served.request("/", headers={"X-Shiftctl-Fragment": "1"})
                    self.fetches += 1
        except (OSError, ValueError):
            return  # closed by stop()

    def stop(self) -> None:
        import socket
        if self._conn.sock is not None:
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._conn.close()


def section_serve_cost(bench: Bench) -> dict[str, Any]:
    """Idle ``shiftctl cycle`` processes with and without ``shiftctl serve`` running and a
    dashboard page open on it (each cycle changes the db, so the page refreshes after each),
    alternated in rounds so that the machine's other load falls on both alike."""
    p = bench.project("serve-cost")
    p.file_issue("warm up", checklist(1))
    p.cli("run", "--until-idle")
    n = bench.sizes.idle_cycles // 2
    without: list[float] = []
    with_serve: list[float] = []
    fetches = 0
    for _ in range(bench.sizes.serve_rounds):
        without += [idle_cycle(p.root)[0] for _ in range(n)]
        with serving(p.root) as served:
            page = Watching(served)
            time.sleep(1.0)  # the page is open and has had its first refresh
            with_serve += [idle_cycle(p.root)[0] for _ in range(n)]
            page.stop()
            fetches += page.fetches
    if fetches < len(with_serve) // 2:
        raise RuntimeError(f"the open page refreshed only {fetches} times")
    return {"idle_cycle_ms_without_serve": round(median(without) * 1000, 1),
            "idle_cycle_ms_with_serve": round(median(with_serve) * 1000, 1),
            "idle_cycle_serve_ratio": round(median(with_serve) / median(without), 3)}


# -- many machines: the rq launcher --------------------------------------------------------------
RQ_HOSTS, RQ_PROCESSES = 4, 16  # 4 worker hosts on this machine, 16 runs at once each


def register_hosts(p: Project, keys: dict[str, str]) -> None:
    from shiftctl.admin.launchers.hosts import add
    from shiftctl.admin.paths import Paths
    for name, public in keys.items():
        add(Paths(p.root), name, public)


def start_hosts(work: Path, queue: str) -> tuple[list[subprocess.Popen[bytes]], dict[str, str]]:
    """``shiftctl worker-host`` x RQ_HOSTS, each with its own HOME, key and work directory."""
    procs, keys = [], {}
    for i in range(RQ_HOSTS):
        name, home = f"host{i}", work / f"host{i}"
        (home / "work").mkdir(parents=True)
        env = {**os.environ, "HOME": str(home)}
        key = home / "host.key"
        reg = subprocess.run([*SHIFTCTL, "worker-host", "--register", "--name", name, "--key",
                              str(key)], env=env, capture_output=True, text=True, check=True)
        keys[name] = reg.stdout.split()[1]
        procs.append(subprocess.Popen(
            [*SHIFTCTL, "worker-host", "--queue", queue, "--name", name, "--key", str(key),
             "--workdir", str(home / "work"), "--processes", str(RQ_PROCESSES)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    return procs, keys


def rq_run(bench: Bench, name: str, n: int, *, concurrent: int, sleep: float,
           keys: dict[str, str], queue: str) -> float:
    """n independent tasks through the loop on the rq launcher: seconds from the first spawn
    to the last merge."""
    p = bench.project(name, workers={"max_concurrent": concurrent,
                                     "launcher": {"kind": "rq", "queue": queue}})
    register_hosts(p, keys)
    p.file_issue(name, checklist(n, sleep=sleep))
    loop = Loop(p.root)
    loop.wait_for(merged(p, n), timeout=180 + n * (sleep + 10) / concurrent)
    loop.stop()
    return elapsed_of(p)


def elapsed_of(p: Project) -> float:
    merges = merged_at(p)
    s = p.store()
    try:
        starts = [r.started_at for r in s.runs() if r.kind == "work"]
    finally:
        s.close()
    return max(merges.values()) - min(starts)


def task_spans(p: Project) -> list[float]:
    """Per task: its first spawn to its merge (seconds)."""
    merges = merged_at(p)
    s = p.store()
    try:
        return [merges[t.ref] - min(r.started_at for r in s.runs(task_id=t.id))
                for t in s.tasks(states=("done",))]
    finally:
        s.close()


def redis_stats(client: Any) -> tuple[int, int, int]:
    """(commands processed, connections received, bytes used) by the server so far."""
    info = client.info()
    return (int(info["total_commands_processed"]), int(info["total_connections_received"]),
            int(info["used_memory"]))


def section_rq(bench: Bench) -> dict[str, Any]:
    """The rq launcher on one Redis with 4 worker hosts (16 runs at once each) on this same
    machine: per-task overhead against local, throughput at 16 and 64 runs at once, Redis
    round trips of an idle cycle, Redis memory per queued run."""
    from support.rqhosts import RedisServer
    if shutil.which("redis-server") is None:
        print("redis-server not installed: the rq section is skipped", file=sys.stderr)
        return {}
    server = RedisServer(bench.work / "redis")
    (bench.work / "redis").mkdir()
    server.start()
    os.environ["SHIFTCTL_REDIS_URL"] = server.url
    client, out = server.client(), {}
    try:
        idle = bench.project("rq-idle", workers={"launcher": {"kind": "rq"}})
        timed_cli(idle.root, "cycle")
        c0, k0, _ = redis_stats(client)
        for _ in range(5):
            timed_cli(idle.root, "cycle")
        c1, k1, _ = redis_stats(client)
        # the second INFO is one command (on the bench's own, pooled connection)
        out["rq_idle_cycle_redis_round_trips"] = (c1 - c0 - 1) / 5
        out["rq_idle_cycle_redis_connections"] = (k1 - k0) / 5
        queued = 20
        held = bench.project("rq-queued", workers={"max_concurrent": queued,
                                                   "launcher": {"kind": "rq", "queue": "idle"}})
        held.file_issue("held", checklist(queued))
        _, _, m0 = redis_stats(client)
        held.cycle()
        while len([r for r in held.runs() if r.kind == "work"]) < queued:
            held.cycle()
        _, _, m1 = redis_stats(client)
        out["rq_redis_bytes_per_queued_run"] = round((m1 - m0) / queued)
        procs, keys = start_hosts(bench.work / "hosts", "bench")
        try:
            n = bench.sizes.tasks_tiny
            local, _ = run_tasks(bench, "rq-local-overhead", n, concurrent=16)
            remote = bench.project("rq-overhead", workers={"max_concurrent": 16, "launcher": {
                "kind": "rq", "queue": "bench"}})
            register_hosts(remote, keys)
            remote.file_issue("overhead", checklist(n))
            loop = Loop(remote.root)
            loop.wait_for(merged(remote, n), timeout=300)
            loop.stop()
            out["rq_task_span_s_median"] = round(median(task_spans(remote)), 2)
            out["local_task_span_s_median"] = round(median(task_spans(local)), 2)
            sleep = 5.0
            for conc, tasks in ((16, 32), (64, 100)):
                elapsed = rq_run(bench, f"rq-throughput-{conc}", tasks, concurrent=conc,
                                 sleep=sleep, keys=keys, queue="bench")
                ideal = -(-tasks // conc) * sleep
                out[f"rq_throughput_ratio_n{conc}"] = round(ideal / elapsed, 3)
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
    finally:
        server.stop()
    return out


SECTIONS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "idle": section_idle, "idle_cost": section_idle_cost, "overhead": section_overhead,
    "claude": section_claude, "throughput": section_throughput, "scale": section_scale,
    "wake": section_wake, "sandbox": section_sandbox, "libraries": section_libraries,
    "webhook": section_webhook, "serve_cost": section_serve_cost, "rq": section_rq,
}
BACKGROUND = ("wake",)  # mostly waiting: runs alongside the others


# -- report -----------------------------------------------------------------------------------
TARGETS: dict[str, tuple[str, float]] = {
    "idle_cycle_ms": ("<=", 200), "idle_cycle_startup_ratio": ("<=", 3.0),
    "idle_tokens_per_hour": ("==", 0),
    "requests_per_idle_cycle": ("<=", 1), "task_overhead_s_median": ("<=", 2.0),
    "throughput_ratio_n16": (">=", 0.9), "scale_ratio_10k_vs_10": ("<=", 2.0),
    "wake_latency_s": ("<=", 30), "webhook_wake_s": ("<=", 2.0),
    "webhook_wake_s_max": ("<=", 2.0), "idle_cycle_serve_ratio": ("<=", 1.1),
    "rq_idle_cycle_redis_round_trips": ("<=", 1), "rq_throughput_ratio_n16": (">=", 0.9),
    "rq_throughput_ratio_n64": (">=", 0.9),
}


def verdict(value: Any, target: tuple[str, float]) -> str:
    op, limit = target
    values = list(value.values()) if isinstance(value, dict) else [value]
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not numbers:
        return f"{op} {limit:g}"
    ok = all({"<=": v <= limit, ">=": v >= limit, "==": v == limit}[op] for v in numbers)
    return f"{op} {limit:g} {'ok' if ok else 'MISSED'}"


def table(figures: dict[str, Any]) -> str:
    rows = ["| figure | value | target |", "| --- | --- | --- |"]
    for key, value in figures.items():
        if key in ("machine", "quick", "load_average_at_start"):
            continue
        target = TARGETS.get(key)
        judged = verdict(value, target) if target else ""
        rows.append(f"| `{key}` | {json.dumps(value)} | {judged} |")
    mode = "--quick" if figures.get("quick") else "full run"
    return (f"Machine: {figures['machine']}; {mode}, load average "
            f"{figures['load_average_at_start']:.2f} at the start\n\n" + "\n".join(rows))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "") if Path("/proc/cpuinfo").exists() else ""
    git = subprocess.run(["git", "--version"], capture_output=True, text=True,
                         check=True).stdout.split()[-1]
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores {cpu}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, git {git}")


def find_claude() -> str | None:
    path = AGENT_BIN / "claude"
    if path.exists():
        return str(path)
    print(f"claude CLI not found at {path} (set SHIFTCTL_AGENT_BIN, or run scripts/test.sh "
          "which installs it): idle_cost and claude sections are skipped", file=sys.stderr)
    return None


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="shiftctl-bench-"))
    try:
        yield work
    finally:
        if keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def timed_section(name: str, bench: Bench) -> dict[str, Any]:
    t0 = time.monotonic()
    out = SECTIONS[name](bench)
    print(f"{name}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a reduced run (under 2 minutes)")
    ap.add_argument("--json", dest="json_out", type=Path, help="write the figures here")
    ap.add_argument("--only", default="", help=f"comma-separated: {','.join(SECTIONS)}")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    # a real install has its bytecode compiled (pip does it); a process that may not write it
    # would compile every module on every cycle and measure the compiler
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    figures: dict[str, Any] = {"quick": args.quick, "machine": machine(),
                               "load_average_at_start": os.getloadavg()[0]}
    started = time.monotonic()
    with workdir(args.keep) as work, ThreadPoolExecutor(1) as pool:
        isolate(work)
        bench = Bench(work, QUICK if args.quick else FULL, find_claude())
        background = {name: pool.submit(timed_section, name, bench)
                      for name in only if name in BACKGROUND}
        for name in only:
            if name not in background:
                figures.update(timed_section(name, bench))
        for future in background.values():
            figures.update(future.result())
    figures["bench_seconds"] = round(time.monotonic() - started, 1)
    print(table(figures))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
