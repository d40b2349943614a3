"""``shiftctl audit verify``: the log checked against every key here and the anchor, in words.

Statuses: ``intact``; ``rewritten`` (at event N); ``truncated`` (anchor at N, log ends at M);
``key_missing`` (the key that signed some events is not on this machine: what can be checked
is, the rest is said); ``anchor_missing`` (signed events but no readable anchor). Every status
but ``intact`` is a problem (exit 1). Restores are notes: a person did them.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from shiftctl.admin.audit import anchor as anchor_mod
from shiftctl.admin.audit.anchor import (
    ANCHOR_MISSING,
    AnchorError,
    restore_explains,
    signed_by,
    utc,
)
from shiftctl.admin.audit.keys import KeyFileError, all_keys, exposure, load
from shiftctl.admin.paths import Paths
from shiftctl.memory import audit
from shiftctl.memory.events import AuditKey

INTACT = "intact"


@dataclass
class Verdict:
    status: str
    summary: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "ok": self.ok, "summary": self.summary,
                "problems": self.problems, "notes": self.notes, **self.data}


def _problem(kind: str, event: int | None, message: str) -> dict[str, Any]:
    return {"kind": kind, "event": event, "message": message}


def _explain_truncation(report: audit.Report, pending: dict[str, Any] | None,
                        conn: sqlite3.Connection) -> None:
    """A truncation that a not-yet-sealed restore explains says so (it stays a problem: the
    events are gone; the next cycle files it as the restore it was)."""
    cut = report.first(audit.TRUNCATED)
    if cut is None or pending is None or not restore_explains(conn, pending):
        return
    report.problems[report.problems.index(cut)] = audit.Problem(audit.TRUNCATED, cut.event, (
        f"{cut.message}, because state.db was restored from {pending.get('backup')} at "
        f"{utc(float(pending.get('at') or 0))} (shiftctl state restore); the next cycle "
        "records the restore in the audit history"))


def _own_key(paths: Paths, notes: list[str]) -> AuditKey | None:
    try:
        return load(paths)
    except (OSError, KeyFileError) as exc:  # a damaged key file is reported, never fatal
        notes.append(str(exc))
        return None


def _custody(conn: sqlite3.Connection, paths: Paths, own: AuditKey | None,
             af: anchor_mod.AnchorFile | None, unreadable: str | None,
             report: audit.Report) -> list[dict[str, Any]]:
    """Problems with the key and the anchor themselves (not with the log)."""
    out = []
    if unreadable:
        out.append(_problem(ANCHOR_MISSING, None, unreadable))
    elif af is None and own is not None and signed_by(conn, own.id):
        out.append(_problem(ANCHOR_MISSING, None, (
            f"events are signed with this repository's key but its anchor "
            f"{paths.audit_anchor} is missing: a truncation cannot be ruled out")))
    if own is None and (af is not None or report.first_signed is not None):
        out.append(_problem(audit.KEY_MISSING, None, (
            f"this repository's audit key {paths.audit_key} is missing (a new machine, or a "
            "new user?): copy it, mode 0600, from where the log was written; the hash chain "
            "was checked, MACs only where a key is here")))
    return out


def _history(af: anchor_mod.AnchorFile, problems: list[dict[str, Any]],
             notes: list[str]) -> None:
    """Breaks the loop recorded stay problems until accepted; restores are notes."""
    for h in af.history:
        if h.get("kind") == anchor_mod.RESTORE:
            notes.append(h["message"])
        elif h.get("accepted_at"):
            notes.append(f"accepted by {h.get('accepted_by')} at "
                         f"{utc(float(h['accepted_at']))}: {h['message']}")
        else:
            kind = audit.TRUNCATED if h.get("kind") == anchor_mod.STARTED_OVER \
                else str(h.get("kind"))
            problems.append(_problem(kind, h.get("event"), (
                f"{h['message']} [once looked into: shiftctl audit accept]")))


def verify(conn: sqlite3.Connection, paths: Paths) -> Verdict:
    """Everything checkable here: the log against every key and the anchor, the key and
    anchor files themselves, and the breaks and restores the anchor's history records."""
    keys, notes = all_keys(paths)
    own = _own_key(paths, notes)
    af, unreadable = None, None
    try:
        af = anchor_mod.read(paths)
    except AnchorError as exc:
        unreadable = str(exc)
    report = audit.verify(conn, keys, af.anchor if af else None)
    _explain_truncation(report, af.pending_restore if af else None, conn)
    problems = [_problem(p.kind, p.event, p.message) for p in report.problems]
    problems += _custody(conn, paths, own, af, unreadable, report)
    if af is not None:
        _history(af, problems, notes)
    if exposed := exposure(paths):
        notes.append(f"the audit key is readable by others: {exposed}")
    if report.unsigned_before:
        notes.append(f"events 1..{report.unsigned_before} were written before the audit key "
                     "existed (before the anchor): only their hash chain is checked")
    status = problems[0]["kind"] if problems else INTACT
    data = {"events": report.events, "last_event": report.last_id,
            "verified": report.verified, "unsigned_before": report.unsigned_before,
            "first_signed": report.first_signed,
            "anchor": af.anchor.__dict__ if af and af.anchor else None,
            "key": str(paths.audit_key), "key_present": own is not None,
            "anchor_file": str(paths.audit_anchor),
            "history": af.history if af else []}
    return Verdict(status, _summary(status, report, af, problems), problems, notes, data)


def _summary(status: str, report: audit.Report, af: anchor_mod.AnchorFile | None,
             problems: list[dict[str, Any]]) -> str:
    if status != INTACT:
        first = problems[0]
        where = {"rewritten": f" at event {first['event']}" if first["event"] else "",
                 "truncated": ""}.get(status, "")
        return f"{status}{where}: {first['message']}"
    anchored = (f", anchored at event {af.anchor.event}" if af and af.anchor
                else ", not anchored yet (the first cycle that writes an event anchors it)")
    return (f"intact: {report.events} events, chain intact, {report.verified} MACs "
            f"verified{anchored}")
