"""The ``shiftctl`` command line: a thin layer, each command calls one library function."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from shiftctl.admin import config as config_mod
from shiftctl.admin.config import Config, ConfigError
from shiftctl.admin.cycle import LOOP_SAID
from shiftctl.admin.paths import Paths


class Context:
    def __init__(self, start: Path) -> None:
        self.start = start
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = config_mod.load(self.start)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._config

    @property
    def paths(self) -> Paths:
        return Paths(self.config.root)

    @contextlib.contextmanager
    def local_tracker(self) -> Iterator[Any]:
        """The local tracker, with its errors turned into clean CLI errors."""
        if self.config.tracker.kind != "local":
            raise click.ClickException(
                f"this repository uses the {self.config.tracker.kind} tracker; 'issue' and 'pr' "
                "commands work on the local tracker only (use the tracker itself)")
        from shiftctl.admin.tracker.base import TrackerError
        from shiftctl.admin.tracker.local import LocalTracker
        self.paths.ensure()
        tracker = LocalTracker(self.paths.tracker_db, self.config.root,
                               self.config.tracker.allowed_authors)
        try:
            yield tracker
        except TrackerError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            tracker.close()

    def wake(self) -> None:
        from shiftctl.system.fs import wake
        wake(self.paths.wake, "cli")


pass_ctx = click.make_pass_decorator(Context)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


class Cli(click.Group):
    """The top-level group: a state db that cannot be used ends any command with what is
    wrong, the newest good backup and the command that restores it, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        import sqlite3

        from shiftctl.memory.db import StateError
        try:
            return super().invoke(ctx)
        except (StateError, sqlite3.DatabaseError) as exc:
            from shiftctl.admin.statedb import describe_error, unusable
            obj = ctx.find_object(Context)
            if obj is None or not (unusable(exc) or isinstance(exc, StateError)):
                raise
            raise click.ClickException(describe_error(obj.paths, exc)) from exc


@click.group(cls=Cli)
@click.option("-C", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Look for shiftctl.yaml from DIR instead of the current directory.")
@click.version_option(package_name="shiftctl")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None) -> None:
    """shiftctl: hand work to AI coding agents through your issue tracker, safely."""
    ctx.obj = Context(directory or Path.cwd())


# -- setting up -----------------------------------------------------------------------------
@cli.command()
@click.option("--tracker", type=click.Choice(["local", "github"]), default="local",
              show_default=True, help="Where issues come from.")
@click.option("--repo", default=None, help="owner/name of the GitHub repository.")
@click.option("--force", is_flag=True, help="Overwrite an existing shiftctl.yaml.")
@pass_ctx
def init(ctx: Context, tracker: str, repo: str | None, force: bool) -> None:
    """Write shiftctl.yaml and .shiftctl/ in this repository."""
    from shiftctl.admin.cli.init import init as do_init
    try:
        for line in do_init(ctx.start, tracker=tracker, repo=repo, force=force):
            click.echo(line)
    except ConfigError as exc:
        fail(str(exc))
    click.echo("Next: shiftctl doctor, then file an issue with the intake label and run "
               "'shiftctl run' (or supervise the loop: see the README).")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def doctor(ctx: Context, as_json: bool) -> None:
    """Check git, agents, tracker access, SQLite and supervisor."""
    from shiftctl.admin.cli.doctor import check
    findings = check(ctx.config)
    if as_json:
        emit([f.__dict__ for f in findings])
    else:
        for f in findings:
            mark = "ok  " if f.ok else ("FAIL" if f.required else "warn")
            click.echo(f"{mark}  {f.name:<16} {f.detail}")
    if any(not f.ok and f.required for f in findings):
        sys.exit(1)


# -- the local tracker ----------------------------------------------------------------------
@cli.group()
def issue() -> None:
    """Issues on the local tracker."""


@issue.command("new")
@click.argument("title")
@click.option("--body", default=None, help="Issue text.")
@click.option("--body-file", type=click.File("rb"), default=None,
              help="Read the text from a file (- for stdin).")
@click.option("--label", "labels", multiple=True, help="A label (repeatable).")
@click.option("--author", default=None, help="Who files it (default: $USER).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_new(ctx: Context, title: str, body: str | None, body_file: Any, labels: tuple[str, ...],
              author: str | None, as_json: bool) -> None:
    """File an issue."""
    if body is not None and body_file is not None:
        fail("give --body or --body-file, not both")
    text = body if body is not None else (
        body_file.read().decode("utf-8", "replace") if body_file is not None else "")
    with ctx.local_tracker() as tracker:
        new = tracker.new_issue(title, text, list(labels),
                                author or os.environ.get("USER") or "local")
    ctx.wake()
    if as_json:
        emit(new.to_dict())
    else:
        click.echo(f"#{new.number} {new.title}")


@issue.command("list")
@click.option("--state", type=click.Choice(["open", "closed", "all"]), default="open")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_list(ctx: Context, state: str, as_json: bool) -> None:
    """List issues."""
    with ctx.local_tracker() as tracker:
        issues = tracker.list_issues(state)
    if as_json:
        emit([{k: v for k, v in i.to_dict().items() if k != "comments"} for i in issues])
        return
    for i in issues:
        click.echo(f"#{i.number:<4} {i.state:<6} {i.author:<10} [{', '.join(i.labels)}] {i.title}")


@issue.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_show(ctx: Context, number: int, as_json: bool) -> None:
    """Show an issue with its comments."""
    with ctx.local_tracker() as tracker:
        found = tracker.get_issue(number)
    if as_json:
        emit(found.to_dict())
        return
    click.echo(f"#{found.number} {found.title}  [{found.state}] by {found.author}  "
               f"labels: {', '.join(found.labels) or '-'}")
    click.echo("")
    click.echo(found.body)
    for c in found.comments:
        click.echo(f"\n--- comment {c.id} by {c.author} at {c.created_at}")
        click.echo(c.body)


@issue.command("comment")
@click.argument("number", type=int)
@click.argument("text")
@click.option("--author", default=None, help="Who comments (default: $USER).")
@pass_ctx
def issue_comment(ctx: Context, number: int, text: str, author: str | None) -> None:
    """Comment on an issue (slash commands like /approve work here)."""
    with ctx.local_tracker() as tracker:
        c = tracker.post_comment(number, text, author=author or os.environ.get("USER") or "local")
    ctx.wake()
    click.echo(f"comment {c.id} on #{number}")


@issue.command("close")
@click.argument("number", type=int)
@pass_ctx
def issue_close(ctx: Context, number: int) -> None:
    """Close an issue."""
    with ctx.local_tracker() as tracker:
        tracker.close_issue(number)
    click.echo(f"closed #{number}")


@cli.group()
def pr() -> None:
    """Pull requests on the local tracker."""


@pr.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pr_list(ctx: Context, as_json: bool) -> None:
    """List pull requests."""
    with ctx.local_tracker() as tracker:
        prs = tracker.list_prs()
    if as_json:
        emit([p.to_dict() for p in prs])
        return
    for p in prs:
        draft = " draft" if p.draft else ""
        click.echo(f"#{p.number:<4} {p.state}{draft:<6} {p.head} -> {p.base}  {p.title}")


@pr.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pr_show(ctx: Context, number: int, as_json: bool) -> None:
    """Show a pull request and its diff stat."""
    from shiftctl.system import git
    with ctx.local_tracker() as tracker:
        p = tracker.get_pr(number)
    if as_json:
        emit(p.to_dict() | {"body": p.body})
        return
    click.echo(f"#{p.number} {p.title}  [{p.state}{', draft' if p.draft else ''}] "
               f"{p.head} -> {p.base}\n\n{p.body}\n")
    click.echo(git.out(ctx.config.root, "diff", "--stat", f"{p.base}...{p.head}", check=False))


@pr.command("merge")
@click.argument("number", type=int)
@pass_ctx
def pr_merge(ctx: Context, number: int) -> None:
    """Merge a ready pull request into its base branch (a real git merge)."""
    with ctx.local_tracker() as tracker:
        sha = tracker.merge_pr(number)
    ctx.wake()
    click.echo(f"merged #{number} as {sha[:12]}")


# -- the loop -------------------------------------------------------------------------------
@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the cycle record as JSON.")
@click.option("--woke", type=click.Choice(LOOP_SAID), default=None,
              help="What came before this cycle (the loop script says; counted in /metrics).")
@pass_ctx
def cycle(ctx: Context, as_json: bool, woke: str | None) -> None:
    """Run one admin cycle."""
    from shiftctl.admin.cycle.main import run_cycle
    result = run_cycle(ctx.config, woke=woke)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        click.echo(f"cycle {result.cycle}: {result.rung}; sleep {result.sleep_s:g}s")
        for a in result.actions:
            click.echo(f"  {a}")
    for e in result.errors:
        click.echo(f"error: {e}", err=True)
    if result.rung == "error":
        sys.exit(1)  # the loop script backs off on a failed cycle


@cli.command()
@click.argument("seconds", type=float)
@pass_ctx
def nap(ctx: Context, seconds: float) -> None:
    """Sleep SECONDS, waking early on a trigger."""
    from shiftctl.admin.cycle.nap import nap as do_nap
    click.echo(do_nap(ctx.config, seconds))


@cli.command()
@pass_ctx
def wake(ctx: Context) -> None:
    """Wake the loop now."""
    ctx.wake()


@cli.command()
@click.option("--until-idle", is_flag=True,
              help="Return once nothing is left that can progress without a human.")
@click.option("--max-cycles", type=int, default=None, help="Stop after N cycles.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per cycle.")
@pass_ctx
def run(ctx: Context, until_idle: bool, max_cycles: int | None, as_json: bool) -> None:
    """Run the loop in the foreground."""
    from shiftctl.admin.cycle.loop import run_loop
    from shiftctl.admin.cycle.main import CycleResult

    def show(r: CycleResult) -> None:
        if as_json:
            click.echo(json.dumps(r.to_json()))
        elif r.rung != "sleep" or not until_idle:
            click.echo(f"cycle {r.cycle}: {r.rung} " + "; ".join(r.actions)[:200])
        for e in r.errors:
            click.echo(f"error: {e}", err=True)

    run_loop(ctx.config.root, until_idle=until_idle, max_cycles=max_cycles, on_cycle=show)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Issues, tasks, workers, PRs, costs and the next wake."""
    from shiftctl.admin.cli.status import collect_status, render
    data = collect_status(ctx.config)
    if as_json:
        emit(data)
    else:
        click.echo(render(data))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@click.option("--issue", "issue_number", type=int, default=None, help="Only this issue.")
@click.option("--limit", type=int, default=200, show_default=True, help="How many past events.")
@pass_ctx
def events(ctx: Context, as_json: bool, follow: bool, issue_number: int | None, limit: int) -> None:
    """The event log (append-only, hash-chained)."""
    from shiftctl.admin.statedb import open_reader
    from shiftctl.memory.db import StateMissing
    from shiftctl.memory.events import rows
    try:
        store = open_reader(ctx.paths)
    except StateMissing as exc:
        fail(f"no state yet: {exc}")
    last = 0
    try:
        batch = rows(store.conn, issue=issue_number, limit=limit)
        while True:
            for ev in batch:
                last = ev["id"]
                if as_json:
                    click.echo(json.dumps(ev, default=str))
                else:
                    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev["ts"]))
                    where = f"#{ev['issue']}" if ev["issue"] is not None else ""
                    if ev["task"]:
                        where = ev["task"]
                    data = " ".join(f"{k}={v}" for k, v in ev["data"].items()
                                    if v not in (None, ""))
                    click.echo(f"{ev['id']:>6} {when} {ev['kind']:<18} {where:<8} {data[:160]}")
            if not follow:
                return
            sys.stdout.flush()  # a follower reads line by line through a pipe
            time.sleep(1.0)
            batch = rows(store.conn, issue=issue_number, after_id=last)
    except KeyboardInterrupt:
        return
    finally:
        store.close()


# -- people steering --------------------------------------------------------------------------
def _request(ctx: Context, verb: str, **kw: Any) -> None:
    from shiftctl.admin.inbox import submit
    submit(ctx.paths, verb, **kw)


@cli.command()
@click.argument("issue_number", metavar="ISSUE", type=int)
@pass_ctx
def approve(ctx: Context, issue_number: int) -> None:
    """Approve an issue's plan."""
    _request(ctx, "approve", issue=issue_number)
    click.echo(f"approval of #{issue_number} queued; the loop applies it on its next cycle")


@cli.command()
@click.argument("task", metavar="TASK")
@pass_ctx
def retry(ctx: Context, task: str) -> None:
    """Retry a task that needs a human (TASK is ISSUE-KEY, e.g. 12-t2)."""
    number, _, key = task.partition("-")
    if not number.isdigit() or not key:
        fail(f"{task!r} is not a task id (expected ISSUE-KEY, e.g. 12-t2)")
    _request(ctx, "retry", issue=int(number), arg=task)
    click.echo(f"retry of {task} queued; the loop applies it on its next cycle")


@cli.command()
@click.argument("issue_number", metavar="ISSUE", type=int)
@pass_ctx
def cancel(ctx: Context, issue_number: int) -> None:
    """Stop working on an issue."""
    _request(ctx, "cancel", issue=issue_number)
    click.echo(f"cancellation of #{issue_number} queued; the loop applies it on its next cycle")


# -- memory ----------------------------------------------------------------------------------
@cli.group()
def memory() -> None:
    """Lessons and episodes: what shiftctl remembers between runs."""


@memory.command("list")
@click.option("--episodes", "show_episodes", is_flag=True,
              help="List episodes (runs), not lessons.")
@click.option("--all", "show_all", is_flag=True, help="Include retired lessons.")
@click.option("--limit", type=int, default=50, show_default=True, help="How many episodes.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def memory_list(ctx: Context, show_episodes: bool, show_all: bool, limit: int,
                as_json: bool) -> None:
    """List lessons, the most effective first (or the latest episodes)."""
    from shiftctl.admin.cli import memory_view as mv
    from shiftctl.memory import episodes, lessons
    with mv.reading(ctx.paths) as store:
        if store is None:
            items: list[Any] = []
        elif show_episodes:
            items = episodes.recent(store.conn, limit)[::-1]
        else:
            items = lessons.listing(store.conn, include_retired=show_all)
    if as_json:
        emit([mv.as_json(i) for i in items])
        return
    for item in items:
        click.echo(mv.episode_line(item) if show_episodes else mv.lesson_line(item))


@memory.command("search")
@click.argument("query")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def memory_search(ctx: Context, query: str, limit: int, as_json: bool) -> None:
    """Full-text search over lessons and episodes."""
    from shiftctl.admin.cli import memory_view as mv
    from shiftctl.memory import episodes, lessons
    with mv.reading(ctx.paths) as store:
        found_lessons = lessons.search(store.conn, query, limit) if store else []
        found_episodes = episodes.search(store.conn, query, limit) if store else []
    if as_json:
        emit({"lessons": [mv.as_json(x) for x in found_lessons],
              "episodes": [mv.as_json(x) for x in found_episodes]})
        return
    for lesson in found_lessons:
        click.echo(mv.lesson_line(lesson))
    for ep in found_episodes:
        click.echo(mv.episode_line(ep))
    if not found_lessons and not found_episodes:
        click.echo(f"nothing in memory matches {query!r}")


@memory.command("show")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def memory_show(ctx: Context, ref: str, as_json: bool) -> None:
    """Show a lesson (ID is its number) or an episode (eN, e.g. e12)."""
    from shiftctl.admin.cli import memory_view as mv
    from shiftctl.memory.episodes import Episode
    try:
        mv.parse_id(ref)
    except ValueError as exc:
        fail(str(exc))
    with mv.reading(ctx.paths) as store:
        item = mv.find(store, ref) if store else None
    if item is None:
        fail(f"no {mv.parse_id(ref)[0]} {ref} in memory")
    if as_json:
        emit(mv.as_json(item))
    else:
        click.echo(mv.episode_detail(item) if isinstance(item, Episode) else mv.lesson_detail(item))


def _memory_request(ctx: Context, verb: str, **kw: str) -> None:
    from shiftctl.admin.steps.lessons import request
    result = request(ctx.paths, verb, **kw)
    if result is None:
        click.echo("queued: a cycle is running; it applies this on its next cycle")
    elif result.startswith(("refused", "no lesson", "unknown")):
        fail(result)
    else:
        click.echo(result)


@memory.command("add")
@click.argument("text")
@pass_ctx
def memory_add(ctx: Context, text: str) -> None:
    """Add a lesson that every worker prompt may carry."""
    from shiftctl.memory.lessons import MAX_TEXT, normalize
    if not normalize(text):
        fail("a lesson needs some text")
    if len(normalize(text)) > MAX_TEXT:
        fail(f"a lesson is at most {MAX_TEXT} characters (this one has {len(normalize(text))})")
    _memory_request(ctx, "memory_add", text=text)


@memory.command("retire")
@click.argument("lesson_id", metavar="ID", type=int)
@click.option("--reason", default="", help="Why (kept with the lesson).")
@pass_ctx
def memory_retire(ctx: Context, lesson_id: int, reason: str) -> None:
    """Retire a lesson: it stays on record but is no longer shown."""
    _memory_request(ctx, "memory_retire", arg=str(lesson_id), text=reason)


@cli.command()
@pass_ctx
def stop(ctx: Context) -> None:
    """Kill switch: stop dispatching and end every worker now."""
    from shiftctl.admin.cli.killswitch import engage
    for line in engage(ctx.config):
        click.echo(line)


@cli.command()
@pass_ctx
def start(ctx: Context) -> None:
    """Release the kill switch."""
    from shiftctl.admin.cli.killswitch import release
    click.echo(release(ctx.config))


@cli.group()
def audit() -> None:
    """The event log's integrity."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Check the event log: hash chain, MACs and anchor; name what was rewritten or cut."""
    from shiftctl.admin.audit.verdict import verify
    from shiftctl.admin.statedb import open_reader
    from shiftctl.memory.db import StateMissing
    try:
        store = open_reader(ctx.paths)
    except StateMissing as exc:
        fail(f"no state yet: {exc}")
    try:
        verdict = verify(store.conn, ctx.paths)
    finally:
        store.close()
    if as_json:
        emit(verdict.to_json())
    else:  # a failed check is an error: it goes to stderr, as errors do
        lines = [("ok: " if verdict.ok else "FAIL: ") + verdict.summary]
        lines += [f"  also {p['kind']}: {p['message']}" for p in verdict.problems[1:]]
        lines += [f"  note: {note}" for note in verdict.notes]
        click.echo("\n".join(lines), err=not verdict.ok)
    if not verdict.ok:
        sys.exit(1)


@audit.command("accept")
@pass_ctx
def audit_accept(ctx: Context) -> None:
    """Accept the breaks the loop recorded (after looking into them); they stay listed."""
    from shiftctl.admin.audit.anchor import AnchorError, accept
    try:
        accepted = accept(ctx.paths, time.time(), os.environ.get("USER") or "unknown")
    except (AnchorError, OSError) as exc:
        fail(str(exc))
    if not accepted:
        click.echo("nothing to accept")
    for message in accepted:
        click.echo(f"accepted: {message}")


@cli.group()
def state() -> None:
    """The state database: backups and restoring one."""


@state.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def state_list(ctx: Context, as_json: bool) -> None:
    """This repository's backups, newest first, each checked."""
    from shiftctl.admin.backups import KNOWN, listing, taken_at
    from shiftctl.memory.backup import inspect
    items = []
    for path in listing(ctx.paths):
        facts = inspect(path, KNOWN, quick=True)
        items.append({"path": str(path), "taken_at": taken_at(path), "ok": facts.ok,
                      "events": facts.last_event, "problem": facts.problem or None})
    if as_json:
        emit(items)
        return
    if not items:
        click.echo(f"no backups yet in {ctx.paths.backups}")
    for item in items:
        verdict = f"{item['events']} events" if item["ok"] else f"UNUSABLE: {item['problem']}"
        click.echo(f"{item['path']}  {verdict}")


@state.command("backup")
@pass_ctx
def state_backup(ctx: Context) -> None:
    """Back up state.db now (verified; the oldest beyond memory.backup_keep are pruned)."""
    from shiftctl.admin.backups import BackupError, take
    from shiftctl.admin.cycle.lock import AdminLock
    from shiftctl.admin.cycle.snapshot import LAST_BACKUP
    from shiftctl.admin.statedb import StateWriter
    paths = ctx.paths
    if not paths.state_db.exists():
        fail(f"no state yet: {paths.state_db} does not exist")
    lock = AdminLock(paths.lock)
    if not lock.acquire():
        fail(f"a cycle is running (it holds {paths.lock}); try again in a moment")
    try:
        writer = StateWriter(paths)
        try:
            now = time.time()
            path, facts, pruned = take(writer.store, paths, now, ctx.config.memory.backup_keep)
            writer.store.put(LAST_BACKUP, repr(now))
        except BackupError as exc:
            fail(str(exc))
        finally:
            writer.close()
    finally:
        lock.release()
    click.echo(f"backed up state.db to {path} ({facts.last_event} events, verified)")
    for old in pruned:
        click.echo(f"pruned {old}")


@state.command("restore")
@click.argument("backup", required=False, type=click.Path(path_type=Path))
@pass_ctx
def state_restore(ctx: Context, backup: Path | None) -> None:
    """Replace state.db with BACKUP (default: the newest good one); the old file is kept."""
    from shiftctl.admin.backups import BackupError, restore
    try:
        done = restore(ctx.paths, backup, time.time())
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"restored state.db from {done.backup} ({done.facts.last_event} events)")
    for kept in done.aside:
        click.echo(f"kept the previous file as {kept}")
    if done.warning:
        click.echo(f"warning: {done.warning}", err=True)
    click.echo("Work recorded after the backup was taken is forgotten; the loop goes on from "
               "the restored state. `shiftctl audit verify` reports the events lost.")
    ctx.wake()


@cli.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build the demo here instead of a temporary directory.")
def demo(workdir: Path | None) -> None:
    """The whole loop on a throwaway repository, offline."""
    from shiftctl.admin.cli.demo import run_demo, summary
    started = time.monotonic()
    repo = run_demo(workdir, echo=click.echo)
    click.echo(summary(repo))
    click.echo(f"\nDemo finished in {time.monotonic() - started:.1f}s.")


@cli.command()
@click.option("--host", default=None,
              help="Address to listen on (default serve.host, 127.0.0.1). Any address but "
                   "loopback needs a token in $SHIFTCTL_SERVE_TOKEN (serve.token_env).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default serve.port, 8765; 0 picks a free one).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """A read-only web dashboard (live), /metrics and GitHub webhooks (/hooks/github)."""
    from shiftctl.admin.serve.server import ServeError
    from shiftctl.admin.serve.server import serve as run_server
    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()  # whoever started it may be waiting for the address

    try:
        run_server(ctx.config, host=host, port=port, echo=say)
    except ServeError as exc:
        fail(str(exc))


@cli.command()
@click.option("--foreground", is_flag=True, help="Keep supervisord in the foreground.")
@pass_ctx
def supervise(ctx: Context, foreground: bool) -> None:
    """Run the loop under supervisord for this repository (autorestart, logs in .shiftctl/)."""
    from shiftctl.admin.cli.supervise import SupervisorError, start_supervisord
    try:
        click.echo(start_supervisord(ctx.config, foreground=foreground))
    except SupervisorError as exc:
        fail(str(exc))


# -- many machines ---------------------------------------------------------------------------
@cli.command("worker-host", )
@click.option("--queue", default="shiftctl", show_default=True,
              help="The RQ queue to take runs from (workers.launcher.queue).")
@click.option("--name", default=None,
              help="This host's registered name (default: the hostname).")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Where runs are worked on (default: ~/.cache/shiftctl/host).")
@click.option("--key", type=click.Path(dir_okay=False), default=None,
              help="This host's private key (default: ~/.config/shiftctl/host.key).")
@click.option("--redis-url-env", default="SHIFTCTL_REDIS_URL", show_default=True,
              help="The environment variable that holds the Redis URL.")
@click.option("--register", is_flag=True,
              help="Make the key if needed, print 'NAME PUBLIC-KEY' for `shiftctl hosts add`.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Runs this host works on at once (one RQ worker each).")
def worker_host(queue: str, name: str | None, workdir: str | None, key: str | None,
                redis_url_env: str, register: bool, burst: bool, processes: int) -> None:
    """Run agents for an admin elsewhere: an RQ worker on QUEUE (docs/many-machines.md).

    It needs no repository, no tracker token and no configuration file: only Redis (the URL
    in $SHIFTCTL_REDIS_URL) and a key the admin has registered."""
    args = ["--queue", queue, "--redis-url-env", redis_url_env, "--processes", str(processes)]
    for flag, value in (("--name", name), ("--workdir", workdir), ("--key", key)):
        if value:
            args += [flag, value]
    args += ["--register"] if register else []
    args += ["--burst"] if burst else []
    # its own program (python -m shiftctl.worker.host): the admin imports no worker code
    os.execv(sys.executable, [sys.executable, "-m", "shiftctl.worker.host", *args])


@cli.group()
def hosts() -> None:
    """The worker hosts whose returns this admin accepts (rq launcher)."""


@hosts.command("add")
@click.argument("name")
@click.argument("public_key")
@pass_ctx
def hosts_add(ctx: Context, name: str, public_key: str) -> None:
    """Trust NAME's PUBLIC_KEY (what `shiftctl worker-host --register` printed)."""
    from shiftctl.admin.launchers.hosts import HostError, add
    try:
        click.echo(f"registered host {name} ({add(ctx.paths, name, public_key)})")
    except HostError as exc:
        fail(str(exc))


@hosts.command("remove")
@click.argument("name")
@pass_ctx
def hosts_remove(ctx: Context, name: str) -> None:
    """Stop trusting NAME: its returns are refused as forged from now on."""
    from shiftctl.admin.launchers.hosts import remove
    if not remove(ctx.paths, name):
        fail(f"no registered host {name!r} (shiftctl hosts list)")
    click.echo(f"removed host {name}")


@hosts.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def hosts_list(ctx: Context, as_json: bool) -> None:
    """The registered worker hosts and their public keys."""
    from shiftctl.admin.launchers.hosts import keys
    found = keys(ctx.paths)
    if as_json:
        emit(found)
    else:
        for name, public in found.items():
            click.echo(f"{name} {public}")


def main() -> None:
    cli(prog_name="shiftctl")


if __name__ == "__main__":
    main()
