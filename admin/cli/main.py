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
from shiftctl.admin.humanize import clip
from shiftctl.admin.paths import Paths, issue_branch
from shiftctl.system.env import local_identity


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
                f"this repository uses the {self.config.tracker.kind} tracker; this command "
                "works on the local tracker only (do it on the tracker itself)")
        with self.tracker() as tracker:
            yield tracker

    @contextlib.contextmanager
    def tracker(self) -> Iterator[Any]:
        """The configured tracker for what people do from the CLI (``issue``, ``pr``): the
        local one as it is (its comments take an author), GitHub through its API with what
        is written redacted, as the loop's writes are."""
        from shiftctl.admin.tracker.base import TrackerError
        tracker: Any
        try:
            if self.config.tracker.kind == "local":
                from shiftctl.admin.tracker.local import LocalTracker
                self.paths.ensure()
                tracker = LocalTracker(self.paths.ensure_tracker(), self.config.root,
                                       self.config.tracker.allowed_authors)
            else:
                from shiftctl.admin.tracker import cached_kv, open_tracker
                tracker = open_tracker(self.config, cached_kv(self.paths))
        except TrackerError as exc:
            raise click.ClickException(str(exc)) from exc
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


SAID_HELP = "Print what was done as JSON ({\"messages\": [...], ...})."


def said(as_json: bool, lines: list[str], **data: Any) -> None:
    """What a command that changed something did: its lines, or one JSON object."""
    if as_json:
        emit({"messages": lines, **data})
    else:
        for line in lines:
            click.echo(line)


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
@click.option("--tracker", type=click.Choice(["local", "github"]), default=None,
              help="Where issues come from (default: local).")
@click.option("--repo", default=None, help="owner/name of the GitHub repository (default: "
              "from a github.com origin).")
@click.option("--force", is_flag=True, help="Overwrite an existing shiftctl.yaml.")
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def init(ctx: Context, tracker: str | None, repo: str | None, force: bool,
         as_json: bool) -> None:
    """Write shiftctl.yaml and .shiftctl/ in this repository."""
    from shiftctl.admin.cli.init import init as do_init
    from shiftctl.admin.cli.invocation import how_to_call
    try:
        lines = do_init(ctx.start, tracker=tracker, repo=repo, force=force)
    except ConfigError as exc:
        fail(str(exc))
    me = how_to_call()
    said(as_json, [*lines, f"Next: {me} doctor, then file an issue with the intake label and "
                           f"run '{me} run' (or supervise the loop: see the README)."])


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--smoke", is_flag=True,
              help="Also run each configured agent profile once, read-only, on a trivial "
                   "prompt, and report its outcome, time and cost.")
@pass_ctx
def doctor(ctx: Context, as_json: bool, smoke: bool) -> None:
    """Check git, agents and their credentials, tracker access, SQLite and supervisor."""
    from shiftctl.admin.cli.doctor import check
    findings = check(ctx.config, smoke=smoke)
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
    """Issues on the configured tracker (local, or GitHub through its API)."""


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
    if author is not None and ctx.config.tracker.kind != "local":
        fail(f"--author is for the local tracker; on {ctx.config.tracker.kind} an issue is "
             "filed by the token's account")
    with ctx.tracker() as tracker:
        new = tracker.new_issue(title, text, list(labels),
                                author or local_identity())
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
    with ctx.tracker() as tracker:
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
    with ctx.tracker() as tracker:
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
@click.option("--author", default=None, help="Who comments (default: $USER; local tracker).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_comment(ctx: Context, number: int, text: str, author: str | None,
                  as_json: bool) -> None:
    """Comment on an issue (slash commands like /approve work here)."""
    with ctx.tracker() as tracker:
        if ctx.config.tracker.kind == "local":
            c = tracker.post_comment(number, text,
                                     author=author or local_identity())
        elif author is not None:
            fail("--author is for the local tracker; on GitHub the token's account comments")
        else:
            c = tracker.post_comment(number, text)
    ctx.wake()
    if as_json:
        emit({"issue": number} | c.to_dict())
    else:
        click.echo(f"comment {c.id} on #{number}")


def _changed(ctx: Context, number: int, as_json: bool, what: str) -> None:
    """After an issue changed: wake the loop, and say so (JSON: the issue as it is now)."""
    ctx.wake()
    if as_json:
        with ctx.tracker() as tracker:
            found = tracker.get_issue(number)
        emit({k: v for k, v in found.to_dict().items() if k != "comments"})
    else:
        click.echo(f"{what} #{number}")


@issue.command("close")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_close(ctx: Context, number: int, as_json: bool) -> None:
    """Close an issue (shiftctl stops working on it)."""
    with ctx.tracker() as tracker:
        tracker.get_issue(number)  # an unknown issue is an error, not a silent no-op
        tracker.close_issue(number)
    _changed(ctx, number, as_json, "closed")


@issue.command("reopen")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_reopen(ctx: Context, number: int, as_json: bool) -> None:
    """Reopen a closed issue."""
    with ctx.tracker() as tracker:
        if tracker.get_issue(number).state == "open":
            fail(f"#{number} is open already")
        tracker.edit_issue(number, state="open")
    _changed(ctx, number, as_json, "reopened")


@issue.command("edit")
@click.argument("number", type=int)
@click.option("--title", default=None, help="The new title.")
@click.option("--body", default=None, help="The new text.")
@click.option("--body-file", type=click.File("rb"), default=None,
              help="Read the new text from a file (- for stdin).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_edit(ctx: Context, number: int, title: str | None, body: str | None, body_file: Any,
               as_json: bool) -> None:
    """Change an issue's title or text."""
    if body is not None and body_file is not None:
        fail("give --body or --body-file, not both")
    if body_file is not None:
        body = body_file.read().decode("utf-8", "replace")
    if title is None and body is None:
        fail("nothing to change: give --title, --body or --body-file")
    with ctx.tracker() as tracker:
        tracker.edit_issue(number, title=title, body=body)
    _changed(ctx, number, as_json, "edited")


@issue.command("label")
@click.argument("number", type=int)
@click.option("--add", "add", multiple=True, help="A label to add (repeatable).")
@click.option("--remove", "remove", multiple=True, help="A label to remove (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def issue_label(ctx: Context, number: int, add: tuple[str, ...], remove: tuple[str, ...],
                as_json: bool) -> None:
    """Add or remove labels (e.g. --add shiftctl hands an issue over)."""
    if not add and not remove:
        fail("nothing to change: give --add LABEL or --remove LABEL")
    if both := set(add) & set(remove):
        fail(f"both added and removed: {', '.join(sorted(both))}")
    with ctx.tracker() as tracker:
        tracker.get_issue(number)
        tracker.set_labels(number, add=add, remove=remove)
    _changed(ctx, number, as_json, "labels changed on")


@cli.group()
def pr() -> None:
    """Pull requests on the configured tracker (merge: on the local tracker only)."""


@pr.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pr_list(ctx: Context, as_json: bool) -> None:
    """List pull requests."""
    with ctx.tracker() as tracker:
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
    with ctx.tracker() as tracker:
        p = tracker.get_pr(number)
    if as_json:
        emit(p.to_dict() | {"body": p.body})
        return
    click.echo(f"#{p.number} {p.title}  [{p.state}{', draft' if p.draft else ''}] "
               f"{p.head} -> {p.base}\n\n{p.body}\n")
    click.echo(git.out(ctx.config.root, "diff", "--stat", f"{p.base}...{p.head}", check=False))


@pr.command("merge")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pr_merge(ctx: Context, number: int, as_json: bool) -> None:
    """Merge a ready pull request into its base branch (a real git merge; local tracker)."""
    with ctx.local_tracker() as tracker:
        sha = tracker.merge_pr(number)
    ctx.wake()
    if as_json:
        emit({"merged": number, "sha": sha})
    else:
        click.echo(f"merged #{number} as {sha[:12]}")


# -- the loop -------------------------------------------------------------------------------
@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the cycle record as JSON.")
@click.option("--woke", type=click.Choice(LOOP_SAID), default=None,
              help="What came before this cycle (the loop script says; counted in /metrics).")
@pass_ctx
def cycle(ctx: Context, as_json: bool, woke: str | None) -> None:
    """Run one admin cycle."""
    from shiftctl.admin.cli.entry import run_cycle_command
    code = run_cycle_command(ctx.config, as_json=as_json, woke=woke, out=click.echo,
                             err=lambda line: click.echo(line, err=True))
    if code:
        sys.exit(code)  # the loop script backs off on a failed cycle


@cli.command()
@click.argument("seconds", type=float)
@pass_ctx
def nap(ctx: Context, seconds: float) -> None:
    """Sleep SECONDS, waking early on a trigger."""
    from shiftctl.admin.cli.entry import run_nap_command
    run_nap_command(ctx.config, seconds, out=click.echo)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def wake(ctx: Context, as_json: bool) -> None:
    """Wake the loop now."""
    ctx.wake()
    if as_json:
        said(True, ["woke the loop"], woke=True)


@cli.command(epilog="""\b
Exit codes with --until-idle:
  0  idle: nothing left to do
  1  the cycles kept failing
  3  idle, waiting for a person (an approval, a question, a failed task)
  4  the kill switch is on (shiftctl start releases it)""")
@click.option("--until-idle", is_flag=True,
              help="Return once nothing is left that can progress without a human.")
@click.option("--max-cycles", type=int, default=None, help="Stop after N cycles.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per cycle.")
@click.option("--progress/--no-progress", default=None,
              help="A line per running worker every few seconds (task, time, last activity, "
                   "tokens, cost). Default: on a terminal, not with --json.")
@click.option("--every", type=click.FloatRange(0.2, 3600), default=5.0, show_default=True,
              help="Seconds between progress lines.")
@pass_ctx
def run(ctx: Context, until_idle: bool, max_cycles: int | None, as_json: bool,
        progress: bool | None, every: float) -> None:
    """Run the loop in the foreground."""
    from shiftctl.admin.cli.idle import verdict
    from shiftctl.admin.cli.progress import Ticker
    from shiftctl.admin.cycle.loop import run_loop
    from shiftctl.admin.cycle.main import CycleResult

    if progress is None:
        progress = not as_json and sys.stdout.isatty()
    ticker = Ticker(ctx.paths, click.echo, every=every)

    def show(r: CycleResult) -> None:
        if as_json:
            ticker.say(json.dumps(r.to_json()))
        elif r.rung != "sleep" or not until_idle:
            ticker.say(clip(f"cycle {r.cycle}: {r.rung} " + "; ".join(r.actions), 200))
        for e in r.errors:
            click.echo(f"error: {e}", err=True)

    with ticker if progress else contextlib.nullcontext():
        last = run_loop(ctx.config.root, until_idle=until_idle, max_cycles=max_cycles,
                        on_cycle=show)
    if not until_idle or last is None:
        return
    ended = verdict(ctx.paths, failed=last.rung == "error" or bool(last.errors and
                                                                  not last.actions))
    if as_json:
        click.echo(json.dumps({"idle": True, "exit": ended.code, "message": ended.message}))
    else:
        click.echo(ended.message, err=ended.code != 0)
    sys.exit(ended.code)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--open", "open_only", is_flag=True,
              help="Only issues still in play (not done, closed or cancelled).")
@click.option("--issue", "issue_number", type=int, default=None, help="Only this issue.")
@click.option("--watch", "-w", "watch", is_flag=True,
              help="Redraw every few seconds until Ctrl-C (read-only).")
@click.option("--every", type=click.FloatRange(0.2, 3600), default=2.0, show_default=True,
              help="Seconds between redraws with --watch.")
@pass_ctx
def status(ctx: Context, as_json: bool, open_only: bool, issue_number: int | None, watch: bool,
           every: float) -> None:
    """Issues, tasks, workers (live progress), PRs, costs and tokens, and the next wake."""
    from shiftctl.admin.cli.status import collect_status, render, select

    def look() -> dict[str, Any]:
        return select(collect_status(ctx.config), open_only=open_only, issue=issue_number)

    if not watch:
        data = look()
        if as_json:
            emit(data)
        else:
            click.echo(render(data))
        return
    try:
        while True:
            data = look()
            if as_json:
                click.echo(json.dumps(data, default=str))
            else:
                click.clear()
                click.echo(time.strftime("%H:%M:%S ") + f"shiftctl status (every {every:g}s, "
                           "Ctrl-C to stop)\n")
                click.echo(render(data))
            sys.stdout.flush()
            time.sleep(every)
    except KeyboardInterrupt:
        return


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
                    click.echo(f"{ev['id']:>6} {when} {ev['kind']:<18} {where:<8} "
                               f"{clip(data, 160)}")
            if not follow:
                return
            sys.stdout.flush()  # a follower reads line by line through a pipe
            time.sleep(1.0)
            batch = rows(store.conn, issue=issue_number, after_id=last)
    except KeyboardInterrupt:
        return
    finally:
        store.close()


@cli.command()
@click.argument("ref", metavar="RUN|TASK")
@click.option("--follow", "-f", is_flag=True, help="Keep printing what it writes until the run "
              "ends (Ctrl-C stops following).")
@click.option("--worker", "which", flag_value="worker.log", default="agent.log",
              help="The worker's own log instead of the agent's.")
@pass_ctx
def logs(ctx: Context, ref: str, follow: bool, which: str) -> None:
    """A run's agent log (RUN is a run id; TASK, e.g. 12-t2, means its latest run)."""
    from shiftctl.admin.cli.logs import LogError, chunks, ended, resolve
    try:
        run = resolve(ctx.paths, ref)
        path = ctx.paths.run_dir(run.id) / which
        for text in chunks(path, follow=follow, done=lambda: ended(ctx.paths, run.id)):
            click.echo(text, nl=False)
            sys.stdout.flush()
    except LogError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return


# -- people steering --------------------------------------------------------------------------
def _steer(ctx: Context, verb: str, issue: int, as_json: bool, *, task: str | None = None,
           what: str) -> None:
    """Check the command against the recorded state, then queue it for the next cycle."""
    from shiftctl.admin.cli.steer import Refused, Target, check
    from shiftctl.admin.inbox import submit
    try:
        check(ctx.paths, Target(verb, issue, task))
    except Refused as exc:
        fail(f"{verb} refused: {exc}")
    path = submit(ctx.paths, verb, issue=issue, arg=task or "")
    if as_json:
        click.echo(json.dumps({"queued": True, "verb": verb, "issue": issue, "task": task,
                               "request": path.name}))
    else:
        click.echo(f"{what} queued; the loop applies it on its next cycle")


JSON_HELP = "Print what was queued as JSON."


@cli.command()
@click.argument("issue_number", metavar="ISSUE", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_ctx
def approve(ctx: Context, issue_number: int, as_json: bool) -> None:
    """Approve an issue's plan (refused unless the issue waits for approval)."""
    _steer(ctx, "approve", issue_number, as_json, what=f"approval of #{issue_number}")


@cli.command()
@click.argument("task", metavar="TASK")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_ctx
def retry(ctx: Context, task: str, as_json: bool) -> None:
    """Retry a task that needs a human (TASK is ISSUE-KEY, e.g. 12-t2), or an issue (TASK is
    ISSUE, as `/retry` on it): one held for its integration branch, or waiting for a person."""
    from shiftctl.admin.cli.steer import Refused, parse_task
    try:
        number, key = parse_task(task)
    except Refused as exc:
        fail(str(exc))
    ref = f"{number}-{key}" if key else None
    _steer(ctx, "retry", number, as_json, task=ref, what=f"retry of {ref or f'#{number}'}")


@cli.command()
@click.argument("issue_number", metavar="ISSUE", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_ctx
def cancel(ctx: Context, issue_number: int, as_json: bool) -> None:
    """Stop working on an issue."""
    _steer(ctx, "cancel", issue_number, as_json, what=f"cancellation of #{issue_number}")


@cli.command()
@click.argument("issue_number", metavar="ISSUE", type=int)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@pass_ctx
def replan(ctx: Context, issue_number: int, as_json: bool) -> None:
    """Plan an issue again: its running agents stop, its open tasks are cancelled."""
    _steer(ctx, "replan", issue_number, as_json, what=f"replanning of #{issue_number}")


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


def _memory_request(ctx: Context, verb: str, as_json: bool, **kw: str) -> None:
    from shiftctl.admin.steps.lessons import request
    result = request(ctx.paths, verb, **kw)
    if result is None:
        said(as_json, ["queued: a cycle is running; it applies this on its next cycle"],
             queued=True)
    elif result.startswith(("refused", "no lesson", "unknown")):
        fail(result)
    else:
        said(as_json, [result], queued=False)


@memory.command("add")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def memory_add(ctx: Context, text: str, as_json: bool) -> None:
    """Add a lesson that every worker prompt may carry."""
    from shiftctl.memory.lessons import MAX_TEXT, normalize
    if not normalize(text):
        fail("a lesson needs some text")
    if len(normalize(text)) > MAX_TEXT:
        fail(f"a lesson is at most {MAX_TEXT} characters (this one has {len(normalize(text))})")
    _memory_request(ctx, "memory_add", as_json, text=text)


@memory.command("retire")
@click.argument("lesson_id", metavar="ID", type=int)
@click.option("--reason", default="", help="Why (kept with the lesson).")
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def memory_retire(ctx: Context, lesson_id: int, reason: str, as_json: bool) -> None:
    """Retire a lesson: it stays on record but is no longer shown."""
    _memory_request(ctx, "memory_retire", as_json, arg=str(lesson_id), text=reason)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def stop(ctx: Context, as_json: bool) -> None:
    """Kill switch: stop dispatching and end every worker now."""
    from shiftctl.admin.cli.killswitch import engage
    said(as_json, engage(ctx.config), stopped=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def start(ctx: Context, as_json: bool) -> None:
    """Release the kill switch."""
    from shiftctl.admin.cli.killswitch import release
    said(as_json, [release(ctx.config)], stopped=False)


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
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def audit_accept(ctx: Context, as_json: bool) -> None:
    """Accept the breaks the loop recorded (after looking into them); they stay listed."""
    from shiftctl.admin.audit.anchor import AnchorError, accept
    try:
        accepted = accept(ctx.paths, time.time(), os.environ.get("USER") or "unknown")
    except (AnchorError, OSError) as exc:
        fail(str(exc))
    said(as_json, [f"accepted: {m}" for m in accepted] or ["nothing to accept"],
         accepted=accepted)


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
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def state_backup(ctx: Context, as_json: bool) -> None:
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
    said(as_json, [f"backed up state.db to {path} ({facts.last_event} events, verified)",
                   *(f"pruned {old}" for old in pruned)],
         backup=str(path), events=facts.last_event, pruned=[str(p) for p in pruned])


@state.command("restore")
@click.argument("backup", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help=SAID_HELP)
@pass_ctx
def state_restore(ctx: Context, backup: Path | None, as_json: bool) -> None:
    """Replace state.db with BACKUP (default: the newest good one); the old file is kept."""
    from shiftctl.admin.backups import BackupError, restore
    try:
        done = restore(ctx.paths, backup, time.time())
    except BackupError as exc:
        fail(str(exc))
    if done.warning:
        click.echo(f"warning: {done.warning}", err=True)
    held = _moved_since_the_backup(ctx)
    said(as_json, [f"restored state.db from {done.backup} ({done.facts.last_event} events)",
                   *(f"kept the previous file as {kept}" for kept in done.aside),
                   "Work recorded after the backup was taken is forgotten; the loop goes on "
                   "from the restored state. `shiftctl audit verify` reports the events lost.",
                   *(h["said"] for h in held)],
         backup=str(done.backup), events=done.facts.last_event,
         kept=[str(k) for k in done.aside],
         held=[{k: v for k, v in h.items() if k != "said"} for h in held])
    ctx.wake()


def _moved_since_the_backup(ctx: Context) -> list[dict[str, Any]]:
    """The issues the next cycle will hold because their integration branch moved past the
    restored record (merges made after the backup), each with the command that avoids it."""
    from shiftctl.admin.review.integration import drifted
    from shiftctl.admin.statedb import open_reader
    store = open_reader(ctx.paths)
    try:
        found = drifted(store, ctx.config.root)
    finally:
        store.close()
    out = []
    for issue, check in found:
        branch = issue_branch(issue.number)
        recorded = check.expected or ""
        out.append({"issue": issue.number, "branch": branch, "found": check.found,
                    "recorded": recorded, "said": (
                        f"#{issue.number}: {branch} is at {(check.found or '?')[:12]}, past "
                        f"{recorded[:12]} where the restored state last left it (merges made "
                        "after the backup, or someone else's). The next cycle holds the issue "
                        "for a person unless the branch is put back first: `git update-ref "
                        f"refs/heads/{branch} {recorded}` (what was merged after it is done "
                        "again).")})
    return out


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


@cli.group(invoke_without_command=True)
@click.option("--foreground", is_flag=True, help="Keep supervisord in the foreground.")
@click.pass_context
def supervise(click_ctx: click.Context, foreground: bool) -> None:
    """Run the loop under supervisord for this repository (autorestart, logs in .shiftctl/).

    Plain `supervise` starts it; `supervise status|stop|restart` control it."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(supervise_start, foreground=foreground)


@supervise.command("start")
@click.option("--foreground", is_flag=True, help="Keep supervisord in the foreground.")
@pass_ctx
def supervise_start(ctx: Context, foreground: bool) -> None:
    """Start supervisord and the loop (refused when it already runs here)."""
    from shiftctl.admin.cli.supervise import SupervisorError, start_supervisord
    try:
        click.echo(start_supervisord(ctx.config, foreground=foreground))
    except SupervisorError as exc:
        fail(str(exc))


@supervise.command("stop")
@pass_ctx
def supervise_stop(ctx: Context) -> None:
    """Stop supervisord and the loop (running workers go on; the next loop collects them)."""
    from shiftctl.admin.cli.supervise import SupervisorError, stop
    try:
        click.echo(stop(ctx.config))
    except SupervisorError as exc:
        fail(str(exc))


@supervise.command("status", epilog="Exit code 0 when it runs, 3 when it does not.")
@pass_ctx
def supervise_status(ctx: Context) -> None:
    """Whether supervisord runs here, and the loop's state."""
    from shiftctl.admin.cli.supervise import status as sv_status
    running, text = sv_status(ctx.config)
    click.echo(text)
    if not running:
        sys.exit(3)


@supervise.command("restart")
@pass_ctx
def supervise_restart(ctx: Context) -> None:
    """Stop supervisord if it runs, then start it again (e.g. after upgrading shiftctl)."""
    from shiftctl.admin.cli.supervise import SupervisorError, start_supervisord, stop
    try:
        click.echo(stop(ctx.config))
        click.echo(start_supervisord(ctx.config))
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
