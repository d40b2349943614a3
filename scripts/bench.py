"""shiftctl benchmarks: orchestration overhead, idle cost and scale.

    python scripts/bench.py [--quick] [--json FILE] [--only idle,overhead,...]

Scripted agents only, so the figures measure shiftctl, not a model. Every figure runs the
real thing: real git repositories in a temporary directory, the real SQLite files, real
worker and agent processes, ``shiftctl`` as a subprocess where a user would run it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AGENT = textwrap.dedent("""\
    import os, sys, time, pathlib
    wt = pathlib.Path(sys.argv[2])
    time.sleep(float(os.environ.get("BENCH_SLEEP", "0")))
    name = [l for l in pathlib.Path(sys.argv[1]).read_text().splitlines()
            if l.startswith("# Your task:")][0].split(":", 1)[1].strip().split()[0]
    (wt / "out").mkdir(exist_ok=True)
    (wt / "out" / (name + ".txt")).write_text(name + "\\n")
    """)


def cli_argv() -> list[str]:
    return [sys.executable, "-P", "-m", "admin.cli"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    e.setdefault("GIT_AUTHOR_NAME", "bench")
    e.setdefault("GIT_AUTHOR_EMAIL", "bench@example.invalid")
    e.setdefault("GIT_COMMITTER_NAME", "bench")
    e.setdefault("GIT_COMMITTER_EMAIL", "bench@example.invalid")
    return e


def sh(cmd: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True, env=env(),
                          **kw)


def make_repo(where: Path, files: int = 1, *, sleep: float = 0.0, concurrent: int = 4,
              extra: str = "") -> Path:
    repo = where
    repo.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], repo)
    sh(["git", "config", "user.name", "bench"], repo)
    sh(["git", "config", "user.email", "bench@example.invalid"], repo)
    (repo / "README.md").write_text("bench\n")
    if files > 1:
        for i in range(files):
            d = repo / "src" / f"d{i // 100:03d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.py").write_text(f"X = {i}\n")
    (repo / ".bench-agent.py").write_text(AGENT)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "-m", "init"], repo)
    (repo / "shiftctl.yaml").write_text(textwrap.dedent(f"""\
        base_branch: main
        tracker: {{kind: local, intake_label: shiftctl, allowed_authors: [bench]}}
        agents:
          default: bench
          profiles:
            bench: {{kind: command, argv: ["{sys.executable}", "{repo}/.bench-agent.py",
                     "{{prompt_file}}", "{{worktree}}"], env: {{BENCH_SLEEP: "{sleep}"}}}}
        workers: {{max_concurrent: {concurrent}, max_attempts: 2, backoff_base: 0.1}}
        limits: {{max_tasks_per_issue: 200, max_runs_per_issue: 400}}
        sleep: {{after_action: 0, busy: 300, idle: 1800, wake_check: 30}}
        {extra}"""))
    return repo


def file_issue(repo: Path, title: str, body: str, labels: tuple[str, ...] = ("shiftctl",)) -> int:
    from admin.trackers.local import LocalTracker
    (repo / ".shiftctl").mkdir(exist_ok=True)
    t = LocalTracker(repo / ".shiftctl" / "tracker.db", repo, ["bench"])
    try:
        return t.new_issue(title, body, list(labels), "bench").number
    finally:
        t.close()


def timed_cli(repo: Path, *args: str) -> tuple[float, float, str]:
    """(wall s, cpu s of the child, stdout) of one ``shiftctl`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*cli_argv(), "-C", str(repo), *args], capture_output=True,
                          text=True, env=env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return wall, cpu, proc.stdout


def run_loop(repo: Path, until: Callable[[], bool], timeout: float) -> dict[str, float]:
    """``shiftctl run`` in the background until ``until()``; returns its wall and CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cli_argv(), "-C", str(repo), "run"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env())
    try:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError("the loop did not finish in time")
            if proc.poll() is not None:
                raise RuntimeError(f"the loop died: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime)}


def store(repo: Path) -> Any:
    from memory.store import Store
    return Store.open(repo / ".shiftctl" / "state.db", readonly=True)


def all_done(repo: Path, n_tasks: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            s = store(repo)
        except Exception:
            return False
        try:
            return len(s.tasks(states=("done",))) >= n_tasks
        finally:
            s.close()
    return check


# -- figures ----------------------------------------------------------------------------------
def bench_idle(work: Path, cycles: int) -> dict[str, Any]:
    from admin import config as config_mod
    from admin.cycle import run_cycle
    repo = make_repo(work / "idle")
    n = file_issue(repo, "warm up", "- [ ] one\n")
    run_loop(repo, all_done(repo, 1), 60)
    assert n
    walls, cpus = [], []
    for _ in range(cycles):
        wall, cpu, out = timed_cli(repo, "cycle", "--json")
        assert json.loads(out)["rung"] == "sleep", out
        walls.append(wall)
        cpus.append(cpu)
    cfg = config_mod.load(repo)
    inproc, requests = [], []
    for _ in range(cycles):
        t0 = time.perf_counter()
        r = run_cycle(cfg)
        inproc.append(time.perf_counter() - t0)
        requests.append(r.tracker_requests)
    return {"idle_cycle_ms": round(statistics.median(walls) * 1000, 1),
            "idle_cycle_cpu_ms": round(statistics.median(cpus) * 1000, 1),
            "idle_cycle_inprocess_ms": round(statistics.median(inproc) * 1000, 2),
            "requests_per_idle_cycle": {"local": max(requests)}}


def task_overheads(repo: Path) -> list[float]:
    """Per task: run start -> task done, minus the agent's own time."""
    s = store(repo)
    try:
        done_at = {}
        for ev in s.iter_events():
            if ev["kind"] == "task.state" and ev["data"].get("new") == "done":
                done_at[ev["task"]] = ev["ts"]
        out = []
        for task in s.tasks(states=("done",)):
            runs = [r for r in s.runs(task_id=task.id) if r.kind == "work"]
            first = runs[0]
            agent = 0.0
            for r in runs:
                res = json.loads((Path(r.run_dir) / "result.json").read_text())
                agent += res["agent_ended_at"] - res["agent_started_at"]
            out.append(done_at[task.ref] - first.started_at - agent)
        return out
    finally:
        s.close()


def bench_overhead(work: Path, tasks: int, files: int, label: str) -> list[float]:
    repo = make_repo(work / f"overhead-{label}", files=files, concurrent=1)
    body = "".join(f"- [ ] (parallel) t{i} task\n  paths: out/t{i}.txt\n" for i in range(tasks))
    file_issue(repo, "overhead", body)
    run_loop(repo, all_done(repo, tasks), 60 + tasks * 10)
    return task_overheads(repo)


def bench_throughput(work: Path, workers: int, waves: int, sleep: float) -> dict[str, float]:
    repo = make_repo(work / f"throughput-{workers}", sleep=sleep, concurrent=workers)
    n = workers * waves
    body = "".join(f"- [ ] (parallel) t{i} task\n  paths: out/t{i}.txt\n" for i in range(n))
    file_issue(repo, "throughput", body)
    usage = run_loop(repo, all_done(repo, n), 120 + n * sleep)
    s = store(repo)
    try:
        runs = [r for r in s.runs() if r.kind == "work"]
        first = min(r.started_at for r in runs)
        last = max(r.ended_at or 0 for r in runs)
    finally:
        s.close()
    ideal = waves * sleep
    return {"ratio": round(ideal / (last - first), 3), "seconds": round(last - first, 2),
            "admin_cpu_share": round(usage["cpu"] / usage["wall"], 3)}


def populate(repo: Path, n_tasks: int) -> None:
    """n_tasks finished tasks (10 per issue) in the state db and their issues on the tracker."""
    from admin.trackers.local import LocalTracker
    from memory.db import transaction
    from memory.store import Store
    issues = max(1, n_tasks // 10)
    t = LocalTracker(repo / ".shiftctl" / "tracker.db", repo, ["bench"])
    with transaction(t.conn):
        for i in range(issues):
            t.conn.execute("INSERT INTO issues (number, title, body, author, labels, state, "
                           "created_at, updated_at, seq) VALUES (?, ?, '', 'bench', "
                           "'[\"shiftctl\"]', 'closed', '', '', 0)", (i + 1, f"old {i}"))
        t.conn.execute("UPDATE meta SET value = ? WHERE key = 'number'", (issues,))
    t.close()
    s = Store.open(repo / ".shiftctl" / "state.db")
    now = time.time()
    with s.tx():
        for i in range(issues):
            s.conn.execute("INSERT INTO issues (number, title, state, created_at, updated_at) "
                           "VALUES (?, ?, 'closed', ?, ?)", (i + 1, f"old {i}", now, now))
            for k in range(10):
                s.conn.execute(
                    "INSERT INTO tasks (issue, key, title, state, created_at, updated_at) "
                    "VALUES (?, ?, ?, 'done', ?, ?)", (i + 1, f"t{k}", "old", now, now))
                s.conn.execute(
                    "INSERT INTO runs (id, issue, task_id, started_at, ended_at, outcome, "
                    "cost_usd) VALUES (?, ?, last_insert_rowid(), ?, ?, 'succeeded', 0.01)",
                    (f"r{i}-{k}", i + 1, now - 3600, now - 3500))
    s.close()


def bench_scale(work: Path, sizes: list[int], cycles: int) -> dict[int, float]:
    out = {}
    for size in sizes:
        repo = make_repo(work / f"scale-{size}")
        timed_cli(repo, "cycle", "--json")  # create and migrate
        populate(repo, size)
        walls = []
        for _ in range(cycles):
            wall, _, outp = timed_cli(repo, "cycle", "--json")
            assert json.loads(outp)["rung"] == "sleep", outp
            walls.append(wall)
        out[size] = statistics.median(walls)
    return out


def bench_wake(work: Path) -> float:
    """A priority:critical issue filed on the tracker (no wake file) during a nap."""
    repo = make_repo(work / "wake")
    (repo / "shiftctl.yaml").write_text((repo / "shiftctl.yaml").read_text().replace(
        "wake_check: 30", "wake_check: 30"))
    timed_cli(repo, "cycle", "--json")
    nap = subprocess.Popen([*cli_argv(), "-C", str(repo), "nap", "1800"], stdout=subprocess.PIPE,
                           text=True, env=env())
    time.sleep(1.0)
    t0 = time.perf_counter()
    file_issue(repo, "fire", "- [ ] put it out\n", labels=("shiftctl", "priority:critical"))
    out, _ = nap.communicate(timeout=120)
    latency = time.perf_counter() - t0
    assert out.strip() == "critical", out
    return latency


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a reduced run (under 2 minutes)")
    ap.add_argument("--json", dest="json_out", type=Path, help="write the figures here")
    ap.add_argument("--only", default="", help="comma-separated sections")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    def want(name: str) -> bool:
        return not only or name in only

    q = args.quick
    figures: dict[str, Any] = {"quick": q, "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="shiftctl-bench-"))
    t_start = time.monotonic()
    try:
        if want("idle"):
            figures.update(bench_idle(work, 20))
        if want("overhead"):
            tiny = bench_overhead(work, 20 if q else 50, 1, "tiny")
            figures["task_overhead_s_median"] = round(statistics.median(tiny), 3)
            figures["task_overhead_s_p95"] = round(pct(tiny, 0.95), 3)
            big = bench_overhead(work, 5 if q else 20, 10_000, "10k")
            figures["task_overhead_s_median_10k_files"] = round(statistics.median(big), 3)
        if want("throughput"):
            for n in (1, 4, 16):
                r = bench_throughput(work, n, 1 if q else 2, 5.0)
                figures[f"throughput_ratio_n{n}"] = r["ratio"]
                figures[f"admin_cpu_share_n{n}"] = r["admin_cpu_share"]
        if want("scale"):
            sizes = bench_scale(work, [10, 1000, 10_000], 5 if q else 20)
            figures["idle_cycle_ms_by_tasks"] = {k: round(v * 1000, 1) for k, v in sizes.items()}
            figures["scale_ratio_10k_vs_10"] = round(sizes[10_000] / sizes[10], 3)
        if want("wake"):
            figures["wake_latency_s"] = round(bench_wake(work), 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["bench_seconds"] = round(time.monotonic() - t_start, 1)
    print(table(figures))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


TARGETS = {
    "idle_cycle_ms": ("<=", 200), "idle_tokens_per_hour": ("==", 0),
    "task_overhead_s_median": ("<=", 2.0), "throughput_ratio_n16": (">=", 0.9),
    "scale_ratio_10k_vs_10": ("<=", 2.0), "wake_latency_s": ("<=", 30),
}


def table(figures: dict[str, Any]) -> str:
    rows = []
    for key, value in figures.items():
        if key == "machine":
            continue
        target = TARGETS.get(key)
        mark = ""
        if target and isinstance(value, (int, float)):
            op, limit = target
            ok = {"<=": value <= limit, ">=": value >= limit, "==": value == limit}[op]
            mark = f"{op} {limit}  {'ok' if ok else 'MISSED'}"
        rows.append(f"| {key} | {json.dumps(value)} | {mark} |")
    head = "| figure | value | target |\n| --- | --- | --- |"
    return f"Machine: {figures['machine']}\n\n{head}\n" + "\n".join(rows)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores {cpu}, "
            f"Python {platform.python_version()}, git "
            f"{subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}")


if __name__ == "__main__":
    sys.exit(main())
