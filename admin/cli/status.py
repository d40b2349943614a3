"""``shiftctl status``: issues, tasks, workers, PRs, costs and the next wake, read-only."""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from shiftctl.admin import humanize
from shiftctl.admin.cli import progress
from shiftctl.admin.config import Config
from shiftctl.admin.cycle import presence
from shiftctl.admin.cycle.main import SANDBOX_KEY
from shiftctl.admin.cycle.snapshot import health_problems
from shiftctl.admin.humanize import clip
from shiftctl.admin.paths import Paths
from shiftctl.admin.statedb import open_reader
from shiftctl.admin.tracker import quota
from shiftctl.memory.db import StateMissing
from shiftctl.memory.store import Store, Usage


def collect_status(config: Config, now: float | None = None) -> dict[str, Any]:
    """Everything ``status`` and the dashboard's overview show, as plain data."""
    now = time.time() if now is None else now
    paths = Paths(config.root)
    problems = health_problems(config, paths) if paths.runtime.is_dir() else []
    empty: dict[str, Any] = {"issues": [], "ignored": [], "workers": [], "prs": [],
                             "cooldowns": {}, "refused": {}, "next_wake": None,
                             "loop_pid": presence.loop_pid(paths),
                             "last_cycle": None, "stopped": paths.stop.exists(),
                             "spent_today_usd": 0.0, "tracker": None, "problems": problems}
    problems += lost_state(paths)
    try:
        store = open_reader(paths)
    except StateMissing:  # nothing ran yet, or it was lost (said above); a damaged file is
        return empty      # an error the CLI explains
    try:
        issues = []
        prs = []
        for issue in store.issues():
            used = store.usage(issue.number)
            tasks = [_usage(used.get(t.id, Usage()))
                     | {"id": t.ref, "title": t.title, "state": t.state, "attempts": t.attempts,
                        "cost_usd": round(t.cost_usd, 6), "reason": t.reason}
                     for t in store.tasks(issue=issue.number)]
            issues.append({"number": issue.number, "title": issue.title, "state": issue.state,
                           "reason": issue.reason, "pr": issue.pr,
                           "tasks": tasks} | _usage(sum(used.values(), Usage())))
            if issue.pr:
                prs.append({"number": issue.pr, "issue": issue.number, "head": issue.branch,
                            "state": issue.pr_state})
        workers = progress.workers(store, paths, now, config)
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
            "issues": issues, "ignored": ignored_issues(store), "workers": workers, "prs": prs,
            "cooldowns": store.cooldowns(now), "refused": store.refusals(),
            "next_wake": (last.ended_at or last.started_at) + (last.sleep_s or 0) if last else None,
            "loop_pid": presence.loop_pid(paths),
            "last_cycle": {"cycle": last.number, "rung": last.rung, "actions": last.actions,
                           "sleep_s": last.sleep_s, "ended_at": last.ended_at,
                           "error": last.error} if last else None,
            "stopped": paths.stop.exists(),
            "spent_today_usd": round(store.cost_since(day_start), 6),
            "budget": {"usd_per_day": config.budget.usd_per_day,
                       "usd_per_issue": config.budget.usd_per_issue},
            "tracker": {"kind": config.tracker.kind, "rate": rate},
            "sandbox": sandbox if isinstance(sandbox, dict) else None,
            "problems": problems,
        }
    finally:
        store.close()


def ignored_issues(store: Store) -> list[dict[str, Any]]:
    """Open issues on the tracker that are not intake, and why (the cycle's sync keeps the
    list; docs/design.md §10)."""
    try:
        rows = store.conn.execute("SELECT number, title, author, reason, first_seen "
                                  "FROM ignored_issues ORDER BY number").fetchall()
    except sqlite3.OperationalError:  # a state db from before 0009_intent_rounds
        return []
    return [{"number": r[0], "title": r[1], "author": r[2], "reason": r[3], "since": r[4]}
            for r in rows]


def _usage(u: Usage) -> dict[str, Any]:
    return {"cost_usd": round(u.cost_usd, 6), "tokens_in": u.tokens_in,
            "tokens_out": u.tokens_out, "turns": u.turns}


def lost_state(paths: Paths) -> list[str]:
    """The state that was lost, never an empty world in silence: state.db missing while the
    audit anchor (outside .shiftctl/) says a log existed, or a loss the loop recorded and
    nobody accepted yet."""
    from shiftctl.admin.audit import anchor
    try:
        af = anchor.read(paths)
    except (OSError, anchor.AnchorError):
        return []
    if af is None:
        return []
    out = []
    if not paths.state_db.exists() and af.anchor is not None:
        out.append(f"state lost: {paths.state_db} is missing, but its log had reached event "
                   f"{af.anchor.event}; the next cycle starts a new state and plans the open "
                   "issues again (issues, comments and PRs of the local tracker are kept "
                   f"outside .shiftctl/), or restore a backup: shiftctl state list")
    out += [f"state lost: {h.get('message')} (shiftctl audit accept, once looked into)"
            for h in af.unaccepted() if h.get("kind") == anchor.STARTED_OVER]
    return out


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


def select(status: dict[str, Any], *, open_only: bool = False,
           issue: int | None = None) -> dict[str, Any]:
    """``status --open`` (issues still in play) and ``--issue N``: the same data, fewer
    issues (and only their workers and PRs)."""
    def keep(i: dict[str, Any]) -> bool:
        return (issue is None or i["number"] == issue) and \
            (not open_only or i["state"] not in ("done", "closed", "cancelled"))
    issues = [i for i in status["issues"] if keep(i)]
    numbers = {i["number"] for i in issues}
    return status | {"issues": issues,
                     "workers": [w for w in status["workers"] if issue is None
                                 or w["issue"] in numbers],
                     "prs": [p for p in status.get("prs", []) if p["issue"] in numbers]}


def _issue_lines(issue: dict[str, Any]) -> list[str]:
    pr = f"  PR #{issue['pr']}" if issue["pr"] else ""
    used = humanize.usage(issue["tokens_in"], issue["tokens_out"], issue["turns"],
                          issue["cost_usd"])
    lines = [f"#{issue['number']:<4} {issue['state']:<12} {clip(issue['title'], 60)}{pr}",
             f"      {used}"]
    if issue.get("reason") and issue["state"] in ("needs_human", "cancelled"):
        lines.append(f"      why: {clip(issue['reason'], 100)}")
    for t in issue["tasks"]:
        why = f"  ({clip(t['reason'], 70)})" if t.get("reason") and t["state"] in (
            "needs_human", "cancelled", "retry") else ""
        tok = f"{humanize.tokens(t['tokens_in'])}/{humanize.tokens(t['tokens_out'])} tok"
        turns = f"  {t['turns']} turns" if t["turns"] else ""
        lines.append(f"      {t['id']:<10} {t['state']:<12} tries {t['attempts']}  "
                     f"{humanize.money(t['cost_usd'])}  {tok}{turns}  "
                     f"{clip(t['title'], 50)}{why}")
    return lines


def _loop_line(status: dict[str, Any], now: float) -> str:
    last = status.get("last_cycle")
    if not last:
        return ""
    if status.get("loop_pid"):
        wake = f"next wake {_ago(status.get('next_wake'), now)} (loop pid {status['loop_pid']})"
    else:
        wake = "no loop running (shiftctl run, or shiftctl supervise)"
    return (f"Last cycle {last['cycle']}: {last['rung']}, {_ago(last.get('ended_at'), now)}; "
            f"{wake}. Spent today {humanize.money(status['spent_today_usd'])} of "
            f"{humanize.money(status['budget']['usd_per_day'])}.")


def render(status: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = []
    if status.get("stopped"):
        lines.append("KILL SWITCH ON: nothing is dispatched (shiftctl start to resume)")
    for problem in status.get("problems") or []:
        lines.append(f"PROBLEM: {problem}")
    if not status["issues"] and not status.get("ignored"):
        lines.append("No issues yet. File one with the intake label, then run a cycle.")
    for issue in status["issues"]:
        lines += _issue_lines(issue)
    for ig in status.get("ignored") or []:
        lines.append(f"#{ig['number']:<4} ignored: {ig['reason']}  ({clip(ig['title'], 60)})")
    if status["workers"]:
        lines.append("")
        lines.append("Workers:")
        for w in status["workers"]:
            lines.append(f"  {w['run']}  pid {w['pid']}  heartbeat {w['heartbeat_age_s']}s")
            lines.append(f"    {progress.line(w)}")
    lines.append("")
    if loop := _loop_line(status, now):
        lines.append(loop)
    for profile, until in sorted((status.get("cooldowns") or {}).items()):
        lines.append(f"Agent {profile} cools down after a rate limit: back {_ago(until, now)}.")
    for profile, why in sorted((status.get("refused") or {}).items()):
        lines.append(f"Agent {profile}: its provider refused the credentials ({why}). No run "
                     "starts on it until they are fixed and a person says /retry or /replan.")
    lines += sandbox_lines(status.get("sandbox"))
    rate = quota.describe((status.get("tracker") or {}).get("rate"), now)
    if rate:
        lines.append(f"Tracker quota: {rate}")
    return "\n".join(lines)
