"""Distillation: lessons derived from the recent episodes of work a person accepted.

Every lesson distilled here quotes what agents wrote or made (a check's output, the files and
commands of an attempt, an agent's learnings), and a lesson is shown to the tasks of *other*
issues. So only episodes of accepted work count: an issue's episodes become ``accepted`` when a
person merged its pull request (``episodes.accept_issue``, from the cycle that closes the
issue). Work still in review, or rejected, or an agent that read a hostile issue, teaches
nothing. Lessons a person adds (``shiftctl memory add``) are theirs and need no acceptance.

Three kinds come out, each keyed so that finding it again refreshes it instead of adding a
copy:

- ``check``: a check that failed in ``rule_after`` or more different tasks becomes a rule;
- ``fix``: a task whose attempt failed a check and whose later attempt passed it teaches what
  the passing attempt did differently (the files it also changed, the commands it also ran);
- ``learning``: what agents reported in their status block's ``learnings``, from runs whose
  work was merged (into the integration branch, and with it accepted).

It looks at the newest ``window`` accepted episodes only, so its cost is bounded however long
the history grows, and it is idempotent: running it twice over the same episodes changes
nothing.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from shiftctl.memory import episodes, events, fts, lessons
from shiftctl.memory.db import transaction
from shiftctl.memory.episodes import Episode

WINDOW = 500
MAX_FIX_FILES = 5
MAX_FIX_COMMANDS = 3


@dataclass
class Candidate:
    key: str
    kind: str
    text: str
    terms: str
    tasks: set[tuple[int, str]] = field(default_factory=set)
    source: str = ""


@dataclass
class Report:
    upto: int
    new: int = 0
    looked_at: int = 0
    created: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.new} new episode(s) of {self.looked_at}, {len(self.created)} new "
                f"lesson(s), {len(self.retired)} retired")


def _failing(ep: Episode) -> dict[str, str]:
    return {c["name"]: c.get("line") or "" for c in ep.checks if not c.get("passed")}


def _passing(ep: Episode) -> set[str]:
    return {c["name"] for c in ep.checks if c.get("passed")}


def _commands(ep: Episode) -> list[str]:
    commands = []
    for fact in ep.facts:
        tool, sep, command = fact.partition(":")
        if fact.startswith("tool ") and sep and tool.endswith(("Bash", "shell")):
            commands.append(command.strip())
    return commands


def _quote(items: list[str]) -> str:
    return ", ".join(f"`{x}`" for x in items)


def check_rules(window: list[Episode], rule_after: int) -> list[Candidate]:
    by_check: dict[str, Candidate] = {}
    for ep in window:
        for name, line in _failing(ep).items():
            cand = by_check.setdefault(name, Candidate(f"check:{name}", "check", "", ""))
            cand.tasks.add((ep.issue, ep.task_key))
            cand.text = line or cand.text  # the newest telling line wins
    out = []
    for name, cand in by_check.items():
        n = len(cand.tasks)
        if n < rule_after:
            continue
        said = f", most recently with: {cand.text}" if cand.text else ""
        cand.terms = " ".join(fts.terms(f"{name} {cand.text}"))
        cand.text = (f"The `{name}` check has failed in {n} different tasks{said}. "
                     "Make sure it passes before you finish.")
        cand.source = f"{n} tasks"
        out.append(cand)
    return out


def fixes(window: list[Episode]) -> list[Candidate]:
    """What a passing attempt did that the failing attempt of the same task did not."""
    by_task: dict[tuple[int, str], list[Episode]] = defaultdict(list)
    for ep in window:
        by_task[(ep.issue, ep.task_key)].append(ep)
    found: dict[str, Candidate] = {}
    for task, eps in by_task.items():
        eps.sort(key=lambda e: (e.attempt, e.id))
        for i, failed in enumerate(eps):
            for name, line in _failing(failed).items():
                passed = next((p for p in eps[i + 1:] if name in _passing(p)), None)
                if passed is None:
                    continue
                files = sorted(set(passed.files) - set(failed.files))[:MAX_FIX_FILES]
                cmds = [c for c in _commands(passed) if c not in _commands(failed)]
                cmds = cmds[:MAX_FIX_COMMANDS]
                if not files and not cmds:
                    continue
                did = []
                if files:
                    did.append(f"also changed {_quote(files)}")
                if cmds:
                    did.append(f"also ran {_quote(cmds)}")
                why = f" ({line})" if line else ""
                key = f"fix:{name}:{','.join(files)}:{','.join(cmds)}"
                cand = found.setdefault(key, Candidate(
                    key[:400], "fix",
                    f"When the `{name}` check failed{why}, the attempt that passed it "
                    + " and ".join(did) + ".",
                    " ".join(fts.terms(" ".join([name, *files, line]))),
                    source=f"run {passed.run_id}"))
                cand.tasks.add(task)
    return list(found.values())


def learnings(window: list[Episode]) -> list[Candidate]:
    """What agents reported, from runs whose work was merged and accepted: an agent that read
    a hostile issue, or got its task wrong, does not get to teach every later prompt."""
    found: dict[str, Candidate] = {}
    for ep in window:
        if not (ep.merged and ep.accepted):
            continue
        for text in ep.learnings:
            text = lessons.normalize(text)
            if not text:
                continue
            key = lessons.key_for("learning", text)
            cand = found.setdefault(key, Candidate(
                key, "learning", text, " ".join(fts.terms(f"{text} {ep.title}")),
                source=f"run {ep.run_id}"))
            cand.tasks.add((ep.issue, ep.task_key))
    return list(found.values())


def distil(conn: sqlite3.Connection, *, since: int = 0, rule_after: int = 2,
           retire_after: int = 10, window: int = WINDOW) -> Report:
    """Derive lessons from the newest accepted episodes (``since``: the seq the last run
    reached); call under the admin lock."""
    report = Report(upto=episodes.latest_seq(conn))
    recent = episodes.recent(conn, window, accepted=True)
    report.looked_at = len(recent)
    report.new = sum(1 for ep in recent if ep.seq > since)
    with transaction(conn):
        for cand in [*check_rules(recent, rule_after), *fixes(recent), *learnings(recent)]:
            lesson_id, created = lessons.upsert(conn, key=cand.key, kind=cand.kind,
                                                text=cand.text, terms=cand.terms,
                                                source=cand.source, evidence=len(cand.tasks))
            if created:
                report.created.append(lesson_id)
        report.retired = lessons.retire_unhelpful(conn, retire_after)
        events.append(conn, "memory.distil", upto=report.upto, new=report.new,
                      window=report.looked_at, created=report.created, retired=report.retired)
    return report
