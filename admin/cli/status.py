"""``shiftctl status``: issues, tasks, workers, PRs, costs and the next wake, read-only."""
from __future__ import annotations

import json
import time
from typing import Any

from shiftctl.admin import launchers
from shiftctl.admin.config import Config
from shiftctl.admin.cycle.main import SANDBOX_KEY
from shiftctl.admin.cycle.snapshot import health_problems, view_run
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.admin.tracker import quota
from shiftctl.memory.db import StateMissing


def collect_status(config: Config, now: float | None = None) -> dict[str, Any]:
    """Everything ``status`` and the dashboard's overview show, as plain data."""
    now = time.time() if now is None else now
    paths = Paths(config.root)
    problems = health_problems(config, paths) if paths.runtime.is_dir() else []
    empty: dict[str, Any] = {"issues": [], "workers": [], "prs": [], "cooldowns": {},
                             "next_wake": None,
                             "last_cycle": None, "stopped": paths.stop.exists(),
                             "spent_today_usd": 0.0, "tracker": None, "problems": problems}
    try:
        store = open_reader(paths)
    except StateMissing:  # nothing ran yet; a damaged file is an error the CLI explains
        return empty
    try:
        issues = []
        prs = []
        for issue in store.issues():
            tasks = [{"id": t.ref, "title": t.title, "state": t.state, "attempts": t.attempts,
                      "cost_usd": round(t.cost_usd, 4), "reason": t.reason}
                     for t in store.tasks(issue=issue.number)]
            issues.append({"number": issue.number, "title": issue.title, "state": issue.state,
                           "reason": issue.reason, "pr": issue.pr,
                           "cost_usd": round(store.issue_cost(issue.number), 4),
                           "tasks": tasks})
            if issue.pr:
                prs.append({"number": issue.pr, "issue": issue.number, "head": issue.branch,
                            "state": issue.pr_state})
        workers = []
        for run in store.open_runs():
            rv = view_run(run, store.task(run.task_id) if run.task_id else None, now,
                          launchers.for_run(run, config, paths))
            phase = None
            if run.run_dir:
                try:
                    heartbeat = (paths.run_dir(run.id) / "heartbeat").read_text()
                    phase = json.loads(heartbeat).get("phase")
                except (OSError, ValueError):
                    phase = None
            workers.append({"run": run.id, "kind": run.kind, "issue": run.issue,
                            "task": rv.task.ref if rv.task else None,
                            "profile": run.profile, "pid": run.pid, "alive": rv.alive,
                            "host": rv.host,
                            "started_at": run.started_at, "age_s": round(rv.age, 1),
                            "heartbeat_age_s": None if rv.heartbeat_age is None
                            else round(rv.heartbeat_age, 1),
                            "output_age_s": None if rv.output_age is None
                            else round(rv.output_age, 1),
                            "phase": phase})
        last = store.last_cycle()
        if last and last.rung == "health":  # what the last cycle found (the tracker, too)
            found = (a.removeprefix("unhealthy: ") for a in last.actions)
            problems += [p for p in found if p not in problems]
        if last and last.error:
            problems.append(f"cycle {last.number} failed: {last.error[:300]}")
        day_start = now - (now % 86400)
        sandbox = _json_value(store.get(SANDBOX_KEY))
        raw_rate = store.get("tracker_rate")
        try:
            rate = json.loads(raw_rate) if raw_rate else None
        except ValueError:
            rate = None
        return {
            "issues": issues, "workers": workers, "prs": prs,
            "cooldowns": store.cooldowns(now),
            "next_wake": (last.ended_at or last.started_at) + (last.sleep_s or 0) if last else None,
            "last_cycle": {"cycle": last.number, "rung": last.rung, "actions": last.actions,
                           "sleep_s": last.sleep_s, "ended_at": last.ended_at,
                           "error": last.error} if last else None,
            "stopped": paths.stop.exists(),
            "spent_today_usd": round(store.cost_since(day_start), 4),
            "budget": {"usd_per_day": config.budget.usd_per_day,
                       "usd_per_issue": config.budget.usd_per_issue},
            "tracker": {"kind": config.tracker.kind, "rate": rate},
            "sandbox": sandbox if isinstance(sandbox, dict) else None,
            "problems": problems,
        }
    finally:
        store.close()


def _json_value(raw: str | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def sandbox_lines(profiles: dict[str, Any] | None) -> list[str]:
    """The sandbox the last cycle found in force: one line, and a warning naming the
    profiles whose agents run unsandboxed and why."""
    if not profiles:
        return []
    bare = {n: p for n, p in profiles.items()
            if isinstance(p, dict) and p.get("sandbox") != "bwrap"}
    boxed = sorted(n for n in profiles if n not in bare)
    lines = []
    if boxed:
        reasons = sorted({str(profiles[n].get("reason")) for n in boxed})
        lines.append(f"Sandbox: bwrap for {', '.join(boxed)} ({'; '.join(reasons)}).")
    for name, p in sorted(bare.items()):
        lines.append(f"WARNING: agents of profile {name} run unsandboxed "
                     f"({p.get('reason') or 'no reason recorded'}).")
    return lines


def _ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    delta = ts - now
    if delta >= 0:
        return f"in {delta:.0f}s"
    return f"{-delta:.0f}s ago"


def render(status: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = []
    if status.get("stopped"):
        lines.append("KILL SWITCH ON: nothing is dispatched (shiftctl start to resume)")
    for problem in status.get("problems") or []:
        lines.append(f"PROBLEM: {problem}")
    if not status["issues"]:
        lines.append("No issues yet. File one with the intake label, then run a cycle.")
    for issue in status["issues"]:
        pr = f"  PR #{issue['pr']}" if issue["pr"] else ""
        lines.append(f"#{issue['number']:<4} {issue['state']:<12} ${issue['cost_usd']:<7.2f}"
                     f" {issue['title'][:60]}{pr}")
        if issue.get("reason") and issue["state"] in ("needs_human", "cancelled"):
            lines.append(f"      why: {issue['reason'][:100]}")
        for t in issue["tasks"]:
            why = f"  ({t['reason'][:70]})" if t.get("reason") and t["state"] in (
                "needs_human", "cancelled", "retry") else ""
            lines.append(f"      {t['id']:<10} {t['state']:<12} tries {t['attempts']}  "
                         f"${t['cost_usd']:.2f}  {t['title'][:50]}{why}")
    if status["workers"]:
        lines.append("")
        lines.append("Workers:")
        for w in status["workers"]:
            kind = "" if w.get("kind", "work") == "work" else f"{w['kind']}  "
            lines.append(f"  {w['run']}  {kind}pid {w['pid']}  {w['phase'] or '?'}  "
                         f"age {w['age_s']:.0f}s  heartbeat {w['heartbeat_age_s']}s")
    lines.append("")
    last = status.get("last_cycle")
    if last:
        lines.append(f"Last cycle {last['cycle']}: {last['rung']}; next wake "
                     f"{_ago(status.get('next_wake'), now)}. Spent today "
                     f"${status['spent_today_usd']:.2f} of ${status['budget']['usd_per_day']:.2f}.")
    for profile, until in sorted((status.get("cooldowns") or {}).items()):
        lines.append(f"Agent {profile} cools down after a rate limit: back {_ago(until, now)}.")
    lines += sandbox_lines(status.get("sandbox"))
    rate = quota.describe((status.get("tracker") or {}).get("rate"), now)
    if rate:
        lines.append(f"Tracker quota: {rate}")
    return "\n".join(lines)
