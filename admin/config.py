"""``shiftctl.yaml``: found by walking up, validated at load, every error naming its key.

The file is policy as code. Anything not given takes its default: the field defaults of the
dataclasses below. The parser names each default again where it reads the key (so that a
reader sees the rule in one line); tests/unit/test_config.py checks that the two agree, and
docs/configuration.md's default column is generated from what an empty file parses to
(``scripts/config_docs.py``), so code and docs cannot drift.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, overload

from shiftctl.system.env import local_identity
from shiftctl.system.kinds import AGENT_KINDS as BUILTIN_KINDS
from shiftctl.system.kinds import SANDBOX_KINDS as SANDBOXES

CONFIG_NAME = "shiftctl.yaml"
APPROVAL_POLICIES = ("auto", "always", "over_budget")
TRACKER_KINDS = ("local", "github")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class GithubConfig:
    repo: str = ""
    token_env: str = "GITHUB_TOKEN"
    api_url: str = "https://api.github.com"
    bot: str | None = None           # the token's login; None: asked once from GET /user
    remote: str = "origin"           # the git remote that is the GitHub repository
    write_interval: float = 1.0      # seconds between writes (GitHub's secondary limits)
    max_retry_wait: float = 60.0     # longest Retry-After waited out inside one cycle


@dataclass(frozen=True)
class TrackerConfig:
    kind: str = "local"
    intake_label: str = "shiftctl"
    allowed_authors: tuple[str, ...] = ()
    github: GithubConfig = field(default_factory=GithubConfig)


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    argv: tuple[str, ...] = ()
    model: str | None = None
    max_turns: int | None = None
    allowed_tools: tuple[str, ...] = ()
    permission_mode: str | None = None
    pass_env: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    fallback: str | None = None
    sandbox: str | None = None
    typical_cost_usd: float = 0.0
    # for agents that report tokens but no cost (codex): what a million tokens cost
    usd_per_mtok_in: float = 0.0
    usd_per_mtok_out: float = 0.0
    task_timeout: int | None = None
    stall_timeout: int | None = None


@dataclass(frozen=True)
class AgentsConfig:
    default: str
    profiles: dict[str, Profile]

    def profile(self, name: str | None) -> Profile:
        return self.profiles[name or self.default]


@dataclass(frozen=True)
class Check:
    name: str
    run: str
    timeout: int = 900


@dataclass(frozen=True)
class PlannerConfig:
    kind: str = "checklist"
    profile: str | None = None


@dataclass(frozen=True)
class ReviewConfig:
    judge: str | None = None
    # the configured prompts_dir is forbidden as well (see review.rules.policy_of)
    forbidden_paths: tuple[str, ...] = (".github/workflows/", ".shiftctl/", "shiftctl.yaml",
                                        ".gitattributes", ".gitmodules")
    max_diff_lines: int = 5000
    max_files_changed: int = 500
    max_bytes_added: int = 20 * 1024 * 1024


LAUNCHER_KINDS: tuple[str, ...] = ("local", "rq", "kubernetes")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LauncherConfig:
    """``workers.launcher``: where workers run (docs/design.md §5). ``rq``: the queue, and
    the environment variable that holds the Redis URL (the URL itself is never configured
    in a file)."""
    kind: str = "local"
    queue: str = "shiftctl"
    redis_url_env: str = "SHIFTCTL_REDIS_URL"
    # kubernetes: where and as what the Job's pod runs (docs/many-machines.md)
    namespace: str = "shiftctl"
    image: str = ""
    cpu: str = "1"
    memory: str = "2Gi"
    secret: str = "shiftctl-worker"   # holds redis-url and host-key, mounted as files
    host_name: str = "kubernetes"     # the name the pods' key is registered under
    api_url: str = "https://kubernetes.default.svc"
    token_env: str = "SHIFTCTL_KUBE_TOKEN"
    ca_file: str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


@dataclass(frozen=True)
class WorkersConfig:
    max_concurrent: int = 4
    max_attempts: int = 3
    task_timeout: int = 3600
    stall_timeout: int = 600
    lease: int = 120
    backoff_base: float = 10.0
    backoff_cap: float = 300.0
    cooldown: float = 300.0          # a rate-limited profile rests this long (no reset given)
    launcher: LauncherConfig = field(default_factory=LauncherConfig)


@dataclass(frozen=True)
class BudgetConfig:
    usd_per_issue: float = 10.0
    usd_per_day: float = 100.0


@dataclass(frozen=True)
class SleepConfig:
    after_action: float = 5.0
    busy: float = 300.0
    idle: float = 1800.0
    wake_check: float = 30.0


@dataclass(frozen=True)
class ApprovalConfig:
    plans: str = "auto"
    over_budget_usd: float = 5.0


@dataclass(frozen=True)
class LimitsConfig:
    max_depth: int = 2
    max_tasks_per_issue: int = 50
    max_runs_per_issue: int = 30


@dataclass(frozen=True)
class MemoryConfig:
    """Episodic and procedural memory in worker prompts (docs/design.md §8)."""
    enabled: bool = True
    max_lessons: int = 5
    max_episodes: int = 3
    prompt_chars: int = 4000
    context_chars: int = 20000
    rule_after: int = 2
    retire_after: int = 10
    backup_interval: float = 6.0     # hours between state.db backups; 0: none
    backup_keep: int = 5             # how many backups to keep


@dataclass(frozen=True)
class ServeConfig:
    """``shiftctl serve``: the dashboard, /metrics and GitHub webhooks (docs/design.md §13)."""
    host: str = "127.0.0.1"
    port: int = 8765
    token_env: str = "SHIFTCTL_SERVE_TOKEN"            # required for any non-loopback bind
    webhook_secret_env: str = "SHIFTCTL_WEBHOOK_SECRET"


@dataclass(frozen=True)
class Config:
    root: Path
    base_branch: str
    tracker: TrackerConfig
    agents: AgentsConfig
    planner: PlannerConfig
    review: ReviewConfig
    checks: tuple[Check, ...]
    workers: WorkersConfig
    budget: BudgetConfig
    sleep: SleepConfig
    approval: ApprovalConfig
    limits: LimitsConfig
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    sandbox: str = "auto"
    sandbox_expose: tuple[str, ...] = ()   # absolute paths shown read-only inside the sandbox
    prompts_dir: str | None = None
    source: Path | None = None

    @property
    def runtime(self) -> Path:
        return self.root / ".shiftctl"

    def sandbox_of(self, profile: Profile) -> str:
        """The configured sandbox of a profile's runs (``auto``, ``bwrap`` or ``none``)."""
        return profile.sandbox or self.sandbox


DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "claude": {"kind": "claude", "model": "sonnet", "max_turns": 40,
               "pass_env": ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"], "fallback": None},
    "codex": {"kind": "codex", "pass_env": ["OPENAI_API_KEY", "OPENAI_BASE_URL"]},
    "shell": {"kind": "shell"},
}


# Names people reach for that look nothing like ours: the "did you mean" that spelling misses.
ALIASES = {"cmd": "run", "command": "run", "script": "run", "exec": "run",
           "timeout_s": "timeout", "seconds": "timeout"}


class _Reader:
    """Reads one mapping of the YAML document, naming ``path.key`` in every error."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        self.path = path
        self.source = source
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise self.error(path, data, "a mapping")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, key: str, value: Any, expected: str) -> ConfigError:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return ConfigError(f"{self.source}: {key}: {shown} is not valid (expected {expected})")

    def raw(self, name: str, default: Any) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    @overload
    def text(self, name: str, default: str, *, choices: tuple[str, ...] | None = None,
             nullable: Literal[False] = False) -> str: ...
    @overload
    def text(self, name: str, default: str | None, *, choices: tuple[str, ...] | None = None,
             nullable: bool = False) -> str | None: ...

    def text(self, name: str, default: str | None, *, choices: tuple[str, ...] | None = None,
             nullable: bool = False) -> str | None:
        value = self.raw(name, default)
        if value is None and (nullable or default is None):
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(self.key(name), value,
                             "one of " + ", ".join(choices) if choices else "a non-empty string")
        if choices and value not in choices:
            raise self.error(self.key(name), value, "one of " + ", ".join(choices))
        return value

    @overload
    def integer(self, name: str, default: int, lo: int, hi: int) -> int: ...
    @overload
    def integer(self, name: str, default: None, lo: int, hi: int) -> int | None: ...

    def integer(self, name: str, default: int | None, lo: int, hi: int) -> int | None:
        value = self.raw(name, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(self.key(name), value, f"an integer {lo}..{hi}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error(self.key(name), value, "true or false")
        return value

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise self.error(self.key(name), value, f"a number {lo:g}..{hi:g}")
        return float(value)

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name, list(default))
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(self.key(name), value, "a list of strings")
        return tuple(value)

    def mapping(self, name: str) -> _Reader:
        return _Reader(self.raw(name, None), self.key(name), self.source)

    def done(self) -> None:
        for name in self.data:
            if name not in self.seen:
                import difflib  # only for a mistake
                hint = difflib.get_close_matches(str(name), sorted(self.seen), n=1)
                if not hint and ALIASES.get(str(name)) in self.seen:
                    hint = [ALIASES[str(name)]]
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ConfigError(f"{self.source}: {self.key(str(name))}: unknown key{extra}")


def _launcher(r: _Reader) -> LauncherConfig:
    kind = r.text("kind", "local", choices=LAUNCHER_KINDS)
    queue = r.text("queue", "shiftctl")
    if not _NAME.match(queue):
        raise r.error(r.key("queue"), queue, "a queue name: letters, digits, '.', '_', '-'")
    url_env = r.text("redis_url_env", "SHIFTCTL_REDIS_URL")
    if not _ENV_NAME.match(url_env):
        raise r.error(r.key("redis_url_env"), url_env,
                      "the NAME of an environment variable holding the Redis URL, never the URL")
    k8s = {name: r.text(name, getattr(LauncherConfig, name))
           for name in ("namespace", "cpu", "memory", "secret", "host_name", "api_url",
                        "token_env", "ca_file")}
    image = r.text("image", "", nullable=True) if "image" in r.data else ""
    if kind == "kubernetes" and not image:
        raise r.error(r.key("image"), None, "the container image the pods run (with shiftctl "
                      "and the agents' CLIs installed)")
    for name in ("namespace", "secret", "host_name"):
        if not _NAME.match(k8s[name]):
            raise r.error(r.key(name), k8s[name], "a name: letters, digits, '.', '_', '-'")
    if not _ENV_NAME.match(k8s["token_env"]):
        raise r.error(r.key("token_env"), k8s["token_env"],
                      "the NAME of an environment variable holding the API token")
    r.done()
    return LauncherConfig(kind=kind, queue=queue, redis_url_env=url_env, image=image or "",
                          **k8s)


def _profile(name: str, r: _Reader, kinds: tuple[str, ...]) -> Profile:
    kind = r.text("kind", None, choices=kinds)
    if kind is None:
        raise ConfigError(f"{r.source}: {r.key('kind')}: missing "
                          f"(expected one of {', '.join(kinds)})")
    argv = r.strings("argv")
    if kind == "command" and not argv:
        raise ConfigError(f"{r.source}: {r.key('argv')}: missing (a 'command' profile needs "
                          "argv, e.g. [my-agent, --prompt-file, \"{prompt_file}\"])")
    env_r = r.mapping("env")
    env = []
    for k, v in env_r.data.items():
        env_r.seen.add(k)
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise env_r.error(env_r.key(str(k)), v, "a string")
        env.append((str(k), str(v)))
    profile = Profile(
        name=name, kind=kind, argv=argv,
        model=r.text("model", None, nullable=True),
        max_turns=r.integer("max_turns", None, 1, 10_000),
        allowed_tools=r.strings("allowed_tools"),
        permission_mode=r.text("permission_mode", None, nullable=True),
        pass_env=r.strings("pass_env"), env=tuple(env),
        fallback=r.text("fallback", None, nullable=True),
        sandbox=r.text("sandbox", None, choices=SANDBOXES, nullable=True),
        typical_cost_usd=r.number("typical_cost_usd", 0.0, 0, 1e6),
        usd_per_mtok_in=r.number("usd_per_mtok_in", 0.0, 0, 1e6),
        usd_per_mtok_out=r.number("usd_per_mtok_out", 0.0, 0, 1e6),
        task_timeout=r.integer("task_timeout", None, 1, 7 * 86400),
        stall_timeout=r.integer("stall_timeout", None, 1, 7 * 86400),
    )
    r.done()
    return profile


def _memory(r: _Reader) -> MemoryConfig:
    memory = MemoryConfig(enabled=r.boolean("enabled", True),
                          max_lessons=r.integer("max_lessons", 5, 0, 100),
                          max_episodes=r.integer("max_episodes", 3, 0, 100),
                          prompt_chars=r.integer("prompt_chars", 4000, 0, 200_000),
                          context_chars=r.integer("context_chars", 20000, 0, 500_000),
                          rule_after=r.integer("rule_after", 2, 1, 1000),
                          retire_after=r.integer("retire_after", 10, 0, 100_000),
                          backup_interval=r.number("backup_interval", 6.0, 0, 24 * 365),
                          backup_keep=r.integer("backup_keep", 5, 1, 1000))
    r.done()
    return memory


def _expose_paths(top: _Reader) -> tuple[str, ...]:
    """``sandbox_expose``: absolute paths (``~`` allowed), e.g. a toolchain under HOME."""
    out = []
    for raw in top.strings("sandbox_expose"):
        path = os.path.expanduser(raw)
        if not os.path.isabs(path):
            raise top.error("sandbox_expose", raw, "absolute paths or ~/..., e.g. [~/.pyenv]")
        out.append(os.path.normpath(path))
    return tuple(out)


def _serve(r: _Reader) -> ServeConfig:
    serve = ServeConfig(host=r.text("host", "127.0.0.1"),
                        port=r.integer("port", 8765, 0, 65535),
                        token_env=r.text("token_env", "SHIFTCTL_SERVE_TOKEN"),
                        webhook_secret_env=r.text("webhook_secret_env",
                                                  "SHIFTCTL_WEBHOOK_SECRET"))
    r.done()
    return serve


def parse(data: Any, root: Path, source: str = CONFIG_NAME) -> Config:
    top = _Reader(data, "", source)

    t = top.mapping("tracker")
    g = t.mapping("github")
    repo = g.raw("repo", "")
    if repo and (not isinstance(repo, str) or repo.count("/") != 1):
        raise g.error(g.key("repo"), repo, "owner/name")
    api_url = g.text("api_url", "https://api.github.com")
    if not api_url.startswith(("https://", "http://")):
        raise g.error(g.key("api_url"), api_url, "an http(s) URL, e.g. https://github.example.com/api/v3")
    github = GithubConfig(repo=repo or "", token_env=g.text("token_env", "GITHUB_TOKEN"),
                          api_url=api_url.rstrip("/"), bot=g.text("bot", None, nullable=True),
                          remote=g.text("remote", "origin"),
                          write_interval=g.number("write_interval", 1.0, 0, 60),
                          max_retry_wait=g.number("max_retry_wait", 60.0, 0, 3600))
    g.done()
    tracker = TrackerConfig(kind=t.text("kind", "local", choices=TRACKER_KINDS),
                            intake_label=t.text("intake_label", "shiftctl"),
                            allowed_authors=t.strings("allowed_authors"), github=github)
    t.done()
    if tracker.kind == "github" and not github.repo:
        raise ConfigError(f"{source}: tracker.github.repo: missing (expected owner/name when "
                          "tracker.kind is github)")

    kinds = BUILTIN_KINDS
    a = top.mapping("agents")
    p = a.mapping("profiles")
    profiles: dict[str, Profile] = {}
    raw_profiles = dict(DEFAULT_PROFILES)
    raw_profiles.update(p.data)
    for name, body in raw_profiles.items():
        p.seen.add(name)
        if not isinstance(name, str) or not name:
            raise p.error(p.key(str(name)), name, "a profile name")
        profiles[name] = _profile(name, _Reader(body, p.key(name), source), kinds)
    p.done()
    default = a.text("default", "claude")
    a.done()
    if default not in profiles:
        raise ConfigError(f"{source}: agents.default: {default!r} is not a profile "
                          f"(expected one of {', '.join(sorted(profiles))})")
    for prof in profiles.values():
        if prof.fallback and prof.fallback not in profiles:
            raise ConfigError(f"{source}: agents.profiles.{prof.name}.fallback: {prof.fallback!r} "
                              f"is not a profile (expected one of {', '.join(sorted(profiles))})")
        if tracker.github.token_env in prof.pass_env:
            raise ConfigError(f"{source}: agents.profiles.{prof.name}.pass_env: "
                              f"{tracker.github.token_env!r} is the tracker token; agents must "
                              "never receive tracker credentials")
    agents = AgentsConfig(default=default, profiles=profiles)

    pl = top.mapping("planner")
    planner = PlannerConfig(kind=pl.text("kind", "checklist", choices=("checklist", "agent")),
                            profile=pl.text("profile", None, nullable=True))
    pl.done()
    if planner.kind == "agent" and (not planner.profile or planner.profile not in profiles):
        raise ConfigError(f"{source}: planner.profile: {planner.profile!r} is not a profile "
                          f"(expected one of {', '.join(sorted(profiles))})")

    rv = top.mapping("review")
    review = ReviewConfig(judge=rv.text("judge", None, nullable=True),
                          forbidden_paths=rv.strings("forbidden_paths",
                                                     ReviewConfig.forbidden_paths),
                          max_diff_lines=rv.integer("max_diff_lines", 5000, 1, 10_000_000),
                          max_files_changed=rv.integer("max_files_changed", 500, 1, 10_000_000),
                          max_bytes_added=rv.integer("max_bytes_added", 20 * 1024 * 1024, 0,
                                                     1 << 40))
    rv.done()
    if review.judge and review.judge not in profiles:
        raise ConfigError(f"{source}: review.judge: {review.judge!r} is not a profile "
                          f"(expected one of {', '.join(sorted(profiles))})")

    raw_checks = top.raw("checks", [])
    if raw_checks is None:
        raw_checks = []
    if not isinstance(raw_checks, list):
        raise top.error("checks", raw_checks, "a list of {name, run, timeout}")
    checks = []
    for i, item in enumerate(raw_checks):
        c = _Reader(item, f"checks[{i}]", source)
        checks.append(Check(name=c.text("name", None) or "", run=c.text("run", None) or "",
                            timeout=c.integer("timeout", 900, 1, 86400)))
        c.done()  # first: an unknown key ('cmd') says what was meant, not what is missing
        if not checks[-1].name or not checks[-1].run:
            raise ConfigError(f"{source}: checks[{i}]: needs both 'name' and 'run'")

    w = top.mapping("workers")
    workers = WorkersConfig(max_concurrent=w.integer("max_concurrent", 4, 1, 64),
                            max_attempts=w.integer("max_attempts", 3, 1, 100),
                            task_timeout=w.integer("task_timeout", 3600, 1, 7 * 86400),
                            stall_timeout=w.integer("stall_timeout", 600, 1, 7 * 86400),
                            lease=w.integer("lease", 120, 5, 86400),
                            backoff_base=w.number("backoff_base", 10.0, 0, 86400),
                            backoff_cap=w.number("backoff_cap", 300.0, 0, 86400),
                            cooldown=w.number("cooldown", 300.0, 0, 86400),
                            launcher=_launcher(w.mapping("launcher")))
    w.done()
    b = top.mapping("budget")
    budget = BudgetConfig(usd_per_issue=b.number("usd_per_issue", 10.0, 0, 1e9),
                          usd_per_day=b.number("usd_per_day", 100.0, 0, 1e9))
    b.done()
    s = top.mapping("sleep")
    sleep = SleepConfig(after_action=s.number("after_action", 5.0, 0, 86400),
                        busy=s.number("busy", 300.0, 0, 86400),
                        idle=s.number("idle", 1800.0, 0, 86400),
                        wake_check=s.number("wake_check", 30.0, 0.05, 86400))
    s.done()
    ap = top.mapping("approval")
    approval = ApprovalConfig(plans=ap.text("plans", "auto", choices=APPROVAL_POLICIES),
                              over_budget_usd=ap.number("over_budget_usd", 5.0, 0, 1e9))
    ap.done()
    lm = top.mapping("limits")
    limits = LimitsConfig(max_depth=lm.integer("max_depth", 2, 0, 10),
                          max_tasks_per_issue=lm.integer("max_tasks_per_issue", 50, 1, 10_000),
                          max_runs_per_issue=lm.integer("max_runs_per_issue", 30, 1, 100_000))
    lm.done()
    memory = _memory(top.mapping("memory"))
    serve = _serve(top.mapping("serve"))
    for prof in profiles.values():
        for name in set(prof.pass_env) & {serve.token_env, serve.webhook_secret_env}:
            raise ConfigError(f"{source}: agents.profiles.{prof.name}.pass_env: {name!r} holds "
                              "a secret of shiftctl serve; agents must never receive it")

    config = Config(
        root=root, base_branch=top.text("base_branch", "main"), tracker=tracker, agents=agents,
        planner=planner, review=review, checks=tuple(checks), workers=workers, budget=budget,
        sleep=sleep, approval=approval, limits=limits, memory=memory, serve=serve,
        sandbox=top.text("sandbox", "auto", choices=SANDBOXES),
        sandbox_expose=_expose_paths(top),
        prompts_dir=top.text("prompts_dir", None, nullable=True),
    )
    top.done()
    return config


def find(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
    raise ConfigError(f"no {CONFIG_NAME} in {here} or any parent directory "
                      "(run 'shiftctl init' in your repository, or pass -C DIR)")


def load(start: Path | None = None) -> Config:
    path = find(start)
    return load_file(path)


def load_file(path: Path) -> Config:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    memo = _Memo(path, raw)
    data = memo.read()
    if data is _UNKNOWN:
        data = _read_yaml(path, text)
        memo.write(data)
    if data is None:
        data = {}
    return replace(parse(data, path.parent.resolve(), str(path.name)), source=path)


def _read_yaml(path: Path, text: str) -> Any:
    import yaml  # here, not at the top: only a cycle that finds the file changed pays for it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML: "
                          f"{getattr(exc, 'problem', None) or exc}") from exc


_UNKNOWN = object()


class _Memo:
    """What YAML made of shiftctl.yaml, remembered by the file's content in the runtime
    directory, so that the loop's cycles import PyYAML only when the file changed
    (docs/design.md §14). It is validated like a fresh read (``parse``), and trusted as
    state.db beside it is: a sandboxed agent cannot see the directory. Never through a
    linked runtime directory."""

    NAME = "config.parsed.json"

    def __init__(self, path: Path, raw: bytes) -> None:
        runtime = path.parent / ".shiftctl"
        self.file = None if runtime.is_symlink() or not runtime.is_dir() \
            else runtime / self.NAME
        self.digest = hashlib.sha256(raw).hexdigest()

    def read(self) -> Any:
        if self.file is None:
            return _UNKNOWN
        try:
            found = json.loads(self.file.read_bytes())
            if found["sha256"] == self.digest:
                return found["data"]
        except (OSError, ValueError, TypeError, KeyError):
            pass
        return _UNKNOWN

    def write(self, data: Any) -> None:
        """Only what JSON gives back unchanged (YAML's integer keys or dates would not be)."""
        from shiftctl.system.fs import atomic_write
        if self.file is None:
            return
        try:
            text = json.dumps({"sha256": self.digest, "data": data}, allow_nan=False)
            if json.loads(text)["data"] != data:
                return
            atomic_write(self.file, text, durable=False)
        except (OSError, ValueError, TypeError):
            pass  # only a memo: the next cycle reads the YAML again


def default_text(*, tracker: str = "local", author: str | None = None,
                 base_branch: str = "main", repo: str = "owner/name") -> str:
    """The commented ``shiftctl.yaml`` that ``init`` writes."""
    author = author or local_identity()
    if tracker == "github":
        tracker_block = (
            "tracker:\n"
            "  kind: github\n"
            "  intake_label: shiftctl\n"
            "  allowed_authors: []      # empty: users with write access to the repo\n"
            "  github:\n"
            f"    repo: {repo}\n"
            "    token_env: GITHUB_TOKEN  # the name of the variable, never the token\n"
            "    api_url: https://api.github.com   # GitHub Enterprise: https://HOST/api/v3\n"
            "    remote: origin           # the git remote that is this GitHub repository\n")
    else:
        tracker_block = (
            "tracker:\n"
            "  kind: local              # issues live in ~/.local/share/shiftctl/\n"
            "  intake_label: shiftctl\n"
            f"  allowed_authors: [{author}]\n")
    return f"""\
# shiftctl policy: docs/configuration.md has every key and default.
base_branch: {base_branch}
{tracker_block}agents:
  default: claude
  profiles:
    claude: {{kind: claude, model: sonnet, max_turns: 40,
             pass_env: [ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL]}}
    shell: {{kind: shell}}   # runs the task's ```sh blocks; offline, deterministic
planner: {{kind: checklist}}
review: {{judge: null}}
checks: []                 # e.g. [{{name: tests, run: "pytest -q", timeout: 900}}]
workers: {{max_concurrent: 4, max_attempts: 3, task_timeout: 3600, stall_timeout: 600}}
budget: {{usd_per_issue: 10, usd_per_day: 100}}
sleep: {{after_action: 5, busy: 300, idle: 1800, wake_check: 30}}
approval: {{plans: auto}}
limits: {{max_depth: 2, max_tasks_per_issue: 50, max_runs_per_issue: 30}}
memory: {{enabled: true, max_lessons: 5, max_episodes: 3, prompt_chars: 4000}}
sandbox: auto              # bwrap where bubblewrap works (doctor says), none only if you say so
sandbox_expose: []         # e.g. [~/.pyenv, ~/.nvm]: toolchains under HOME, shown read-only
"""
