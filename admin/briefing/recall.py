"""What a worker's prompt gets from outside its own task: the repo's conventions, lessons and
similar earlier tasks, each within its size budget (``memory.*`` in shiftctl.yaml).

Lessons are distilled from accepted work only or added by a person (``memory.distil``); similar
earlier tasks are this issue's own or accepted work. What agents wrote about an issue nobody
accepted never reaches the prompts of another issue. The frame shows all of it fenced, as notes
(``prompts/frame/work.md.j2``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiftctl.admin.config import Config
from shiftctl.memory import episodes, lessons
from shiftctl.memory.store import Issue, Store, Task
from shiftctl.system import inside

SOP_FILES = ("AGENTS.md", "CLAUDE.md", "CONTRIBUTING.md")
CONTEXT_DIR = ".shiftctl/context"
MAX_LESSON_CHARS = 500
MAX_EPISODE_CHARS = 600
TRUNCATED = "\n[... cut to fit memory.context_chars ...]"


@dataclass
class Recall:
    context_files: list[dict[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why not read)
    lessons: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lesson_ids(self) -> list[int]:
        return [int(lesson["id"]) for lesson in self.lessons]


def _read_prefix(root: Path, rel: str, chars: int) -> tuple[str, bool] | None:
    """At most ``chars`` characters of a repository file (never the whole of a huge one, never
    through a link out of the repository); (text, cut), or None when it does not exist."""
    data = inside.read(root, rel, chars * 4 + 4)
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    return (text[:chars], True) if len(text) > chars else (text, False)


def context_files(root: Path, budget: int) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """The repo's SOP files, in a fixed order, until ``budget`` characters are used; and the
    ones skipped because reading them would leave the repository, with why."""
    candidates = list(SOP_FILES)
    try:
        candidates += [f"{CONTEXT_DIR}/{name}" for name in inside.names(root, CONTEXT_DIR)
                       if name.endswith(".md")]
    except (OSError, inside.Refused):
        pass
    out: list[dict[str, str]] = []
    skipped: list[tuple[str, str]] = []
    left = budget
    for rel in candidates:
        if left <= 0:
            break
        try:
            found = _read_prefix(root, rel, left)
        except inside.Refused as exc:
            skipped.append((rel, str(exc)))
            continue
        except OSError:
            continue
        if found is None:
            continue
        text, cut = found
        text = text.strip()
        if not text:
            continue
        left -= len(text)
        out.append({"name": rel, "text": text + (TRUNCATED if cut else "")})
    return out, skipped


def task_text(issue: Issue, task: Task) -> str:
    """What a task is about, for matching it against memory."""
    return "\n".join([task.title, task.body, " ".join(task.paths), issue.title])


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def episode_view(ep: episodes.Episode) -> dict[str, Any]:
    """The episode's fields, and ``line``: the whole of it as one bounded line of text."""
    outcome = "merged" if ep.merged else ep.outcome
    parts = [f"{ep.title} (attempt {ep.attempt}, {outcome})"]
    if ep.summary:
        parts.append(f"summary: {_shorten(' '.join(ep.summary.split()), 200)}")
    if ep.failures:
        parts.append("failed: " + _shorten("; ".join(ep.failures[:3]), 250))
    if ep.files:
        parts.append("changed: " + _shorten(", ".join(ep.files[:8]), 150))
    return {"id": ep.id, "title": ep.title, "outcome": outcome, "attempt": ep.attempt,
            "summary": ep.summary, "failures": ep.failures[:3], "files": ep.files[:8],
            "line": _shorten(" — ".join(parts), MAX_EPISODE_CHARS)}


def recall(config: Config, store: Store, issue: Issue, task: Task) -> Recall:
    """Conventions always; lessons and episodes (this issue's or accepted work) when memory is
    on, most relevant first."""
    files, skipped = context_files(config.root, config.memory.context_chars)
    out = Recall(context_files=files, skipped=skipped)
    mem = config.memory
    if not mem.enabled:
        return out
    text = task_text(issue, task)
    left = mem.prompt_chars
    for lesson in lessons.rank(store.conn, text, mem.max_lessons):
        shown = _shorten(lesson.text, MAX_LESSON_CHARS)
        if len(shown) > left:
            break
        left -= len(shown)
        out.lessons.append({"id": lesson.id, "text": shown})
    for ep in episodes.similar(store.conn, text, limit=mem.max_episodes, exclude_task=task.id,
                               issue=issue.number):
        view = episode_view(ep)
        if len(view["line"]) > left:
            break
        left -= len(view["line"])
        out.episodes.append(view)
    return out
