"""Planning: an issue becomes a DAG of tasks. Pure functions over text and plain data.

The ``checklist`` planner reads ``- [ ] item`` lines (docs/design.md §6). Item bodies are the
indented lines under an item; three optional body lines steer the task and are removed from
its text: ``paths: a.py, src/`` (what it will touch), ``agent: NAME`` (a profile) and
``done when: ...`` (a success criterion, may repeat). An item starting with ``(parallel)``
does not depend on the item before it.

``validate`` checks any plan, whoever wrote it: unique ids, known dependencies, no cycle,
limits, duplicates folded by fingerprint.
"""
from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass, field

from shiftctl.admin.untrusted import clean, one_line

MAX_TITLE = 500
MAX_CRITERION = 1000
_ITEM = re.compile(r"^(?P<indent>[ \t]*)[-*+][ \t]+\[(?P<mark>[ xX])\][ \t]+(?P<text>.*)$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_META = re.compile(r"^(paths|agent|done when)[ \t]*:[ \t]*(.*)$", re.IGNORECASE)
_PARALLEL = re.compile(r"^\(parallel\)[ \t]*", re.IGNORECASE)


class PlanError(ValueError):
    """A plan that cannot be used; the message says why, for the issue comment."""


@dataclass
class PlannedTask:
    key: str
    title: str
    body: str = ""
    success_criteria: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    profile: str | None = None
    parent: str | None = None
    depth: int = 0

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.title, self.body)


def fingerprint(title: str, body: str = "") -> str:
    norm = " ".join(f"{title}\n{body}".lower().split())
    return hashlib.sha256(norm.encode()).hexdigest()[:16]


def task_key(version: int, n: int) -> str:
    return f"t{n}" if version <= 1 else f"v{version}t{n}"


@dataclass
class _Item:
    text: str
    indent: int
    lines: list[str] = field(default_factory=list)


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))


def checklist_items(body: str) -> list[_Item]:
    items: list[_Item] = []
    current: _Item | None = None
    in_fence = False
    top: int | None = None
    for line in (body or "").splitlines():
        if current is not None and in_fence:
            current.lines.append(line)
            if _FENCE.match(line):
                in_fence = False
            continue
        m = _ITEM.match(line)
        if m and (top is None or _width(m.group("indent")) <= top):
            top = _width(m.group("indent")) if top is None else top
            current = None
            if m.group("mark") == " ":
                current = _Item(m.group("text").strip(), _width(m.group("indent")))
                items.append(current)
            continue
        if current is None:
            continue
        if line.strip() and _width(line[:len(line) - len(line.lstrip())]) <= current.indent:
            current = None  # dedented text ends the item
            continue
        current.lines.append(line)
        if _FENCE.match(line):
            in_fence = True
    return items


def _split_meta(text: str) -> tuple[str, list[str], str | None, list[str]]:
    """Body without the meta lines, plus paths, agent and success criteria."""
    kept: list[str] = []
    paths: list[str] = []
    agent: str | None = None
    criteria: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _META.match(line.strip())
        if m is None:
            kept.append(line)
            continue
        name, value = m.group(1).lower(), m.group(2).strip()
        if name == "paths":
            paths += [p.strip() for p in re.split(r"[,\s]+", value) if p.strip()]
        elif name == "agent":
            agent = value or None
        else:
            criteria.append(value)
    return "\n".join(kept).strip("\n"), paths, agent, criteria


def checklist_plan(title: str, body: str, *, version: int = 1) -> list[PlannedTask]:
    items = checklist_items(body)
    if not items:
        text, paths, agent, criteria = _split_meta(body or "")
        return [PlannedTask(key=task_key(version, 1), title=one_line(title, 300) or "the issue",
                            body=text, paths=paths, profile=agent, success_criteria=criteria)]
    tasks: list[PlannedTask] = []
    for n, item in enumerate(items, 1):
        text = item.text
        parallel = bool(_PARALLEL.match(text))
        text = one_line(_PARALLEL.sub("", text), 300) or f"item {n}"
        item_body, paths, agent, criteria = _split_meta(textwrap.dedent("\n".join(item.lines)))
        depends = [] if parallel or not tasks else [tasks[-1].key]
        tasks.append(PlannedTask(key=task_key(version, n), title=text, body=item_body,
                                 depends_on=depends, paths=paths, profile=agent,
                                 success_criteria=criteria))
    return tasks


def _cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle, or None. Kahn's algorithm, then a walk inside what is left."""
    remaining = {k: set(v) for k, v in deps.items()}
    ready = [k for k, v in remaining.items() if not v]
    users: dict[str, list[str]] = {}
    for k, v in deps.items():
        for d in v:
            users.setdefault(d, []).append(k)
    while ready:
        k = ready.pop()
        del remaining[k]
        for u in users.get(k, []):
            if u in remaining:
                remaining[u].discard(k)
                if not remaining[u]:
                    ready.append(u)
    if not remaining:
        return None
    walk = [next(iter(remaining))]
    while True:
        nxt = next(d for d in sorted(remaining[walk[-1]]))
        if nxt in walk:
            return walk[walk.index(nxt):] + [nxt]
        walk.append(nxt)


def validate(tasks: list[PlannedTask], *, max_tasks: int, max_depth: int,
             profiles: set[str] | None = None, existing: dict[str, str] | None = None
             ) -> list[PlannedTask]:
    """Check a plan and fold duplicates; raises ``PlanError`` naming the first problem.

    ``existing`` maps fingerprints of tasks already on the issue to their keys, so a plan
    or breakdown that repeats one of them is refused as a duplicate. Every task's text is
    cleaned first (``untrusted.clean``): a NUL or a control character in a title would
    otherwise reach git's argv (commit and merge messages) and fail every attempt.
    """
    if not tasks:
        raise PlanError("the plan has no tasks")
    seen: dict[str, PlannedTask] = {}
    by_print: dict[str, str] = dict(existing or {})
    alias: dict[str, str] = {}
    for t in tasks:
        _clean(t)
        if not t.key or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", t.key):
            raise PlanError(f"task id {t.key!r} is not valid (up to 40 letters, digits, "
                            "'.', '_', '-')")
        if t.key in seen or t.key in alias:
            raise PlanError(f"task id {t.key!r} is used twice")
        if not t.title.strip():
            raise PlanError(f"task {t.key} has no title")
        if t.depth > max_depth:
            raise PlanError(f"task {t.key} is at depth {t.depth}, deeper than limits.max_depth "
                            f"({max_depth})")
        if profiles is not None and t.profile and t.profile not in profiles:
            raise PlanError(f"task {t.key} asks for agent profile {t.profile!r}, which is not "
                            f"configured (have: {', '.join(sorted(profiles))})")
        fp = t.fingerprint
        if fp in by_print:
            alias[t.key] = by_print[fp]
            continue
        by_print[fp] = t.key
        seen[t.key] = t
    if len(seen) > max_tasks:
        raise PlanError(f"the plan has {len(seen)} tasks, more than "
                        f"limits.max_tasks_per_issue ({max_tasks})")
    known = set(seen) | set((existing or {}).values())
    for t in seen.values():
        deps = []
        for d in t.depends_on:
            d = alias.get(d, d)
            if d not in known:
                raise PlanError(f"task {t.key} depends on unknown task {d!r}")
            if d != t.key and d not in deps:
                deps.append(d)
        t.depends_on = deps
    cycle = _cycle({k: [d for d in v.depends_on if d in seen] for k, v in seen.items()})
    if cycle:
        raise PlanError("the plan's dependencies form a cycle: " + " -> ".join(cycle))
    return list(seen.values())


def _clean(t: PlannedTask) -> None:
    t.title = one_line(t.title, MAX_TITLE)
    t.body = clean(t.body)
    t.success_criteria = [c for c in (one_line(x, MAX_CRITERION) for x in t.success_criteria) if c]
    t.paths = [x for x in (one_line(p, MAX_TITLE) for p in t.paths) if x]


def plan_summary(tasks: list[PlannedTask]) -> str:
    lines = []
    for t in tasks:
        after = f" (after {', '.join(t.depends_on)})" if t.depends_on else ""
        paths = f" — paths: {', '.join(t.paths)}" if t.paths else ""
        lines.append(f"- [ ] **{t.key}** {t.title}{after}{paths}")
    return "\n".join(lines)
