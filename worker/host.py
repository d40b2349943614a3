"""``shiftctl worker-host``: a machine that runs workers for an admin elsewhere (docs/design.md
§5, docs/many-machines.md).

An RQ worker on the admin's queue whose one job function, ``run_job``, takes a run: it
rebuilds the repository at the exact base commit from the git bundle the admin put in Redis,
runs the very worker local runs use (``python -m shiftctl.worker``, in its own session, with
an environment built from the allowlist) and relays its heartbeat into Redis, stopping it when
the run's kill key appears; then it returns ``result.json`` and a bundle of the new commits,
signed with this host's key. The host holds no tracker token and cannot write the admin's
repository: all it can do is offer commits on the run's task branch, which the admin checks.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shiftctl.system import bundles, git, relay
from shiftctl.system.env import build_env
from shiftctl.system.signing import new_key, public_of, sign
from shiftctl.worker.result import Result
from shiftctl.worker.spec import Spec

JOB_FUNC = "shiftctl.worker.host.run_job"
BEAT_S = 1.0            # the kill key is checked this often: stop reaches an agent within 5 s
KILL_GRACE_S = 15.0     # SIGTERM, then SIGKILL: time for a stopped worker to report
RETURN_TTL_S = 7 * 86400
ENV_NAME, ENV_DIR, ENV_KEY, ENV_URL, ENV_URL_FILE = (
    "SHIFTCTL_HOST_NAME", "SHIFTCTL_HOST_DIR", "SHIFTCTL_HOST_KEY", "SHIFTCTL_HOST_URL_ENV",
    "SHIFTCTL_HOST_URL_FILE")


def _default_key() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "shiftctl" / "host.key"


def ensure_key(path: Path) -> bytes:
    """This host's private key, made (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_key())
    return path.read_bytes()


def _host_spec(payload: dict[str, Any], work: Path) -> Spec:
    """The admin's spec with this host's own paths: nothing of the admin's file system."""
    spec = Spec.from_dict(payload["spec"])
    run_dir = work / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "prompt.md").write_text(payload.get("prompt", ""), encoding="utf-8")
    # the worktree inside the repository, as on the admin's machine (the worker insists)
    wt = work / "repo" / ".shiftctl" / "worktrees" / "wt"
    spec.run_dir, spec.repo, spec.worktree = str(run_dir), str(work / "repo"), str(wt)
    spec.prompt_file, spec.wake_file, spec.hidden = str(run_dir / "prompt.md"), None, []
    spec.agent.sandbox_hide, spec.agent.sandbox_expose = [], []
    (run_dir / "spec.json").write_text(json.dumps(spec.to_dict()), encoding="utf-8")
    return spec


def _repository(conn: Any, run_id: str, work: Path) -> None:
    """The repository at the base commit (and a kept branch), from the admin's bundle."""
    data = conn.get(relay.base_key(run_id))
    if data is None:
        raise RuntimeError("the admin's bundle of the base commit is gone from Redis")
    path = work / "base.bundle"
    path.write_bytes(data)
    repo = work / "repo"
    git.run(work, "init", "-q", str(repo))
    bundles.unbundle(repo, path)
    for sha, ref in bundles.heads(repo, path):
        git.run(repo, "update-ref", ref, sha)
    path.unlink()


class Relay:
    """The run's heartbeat into Redis, and its kill key out of it, every ``BEAT_S``."""

    def __init__(self, conn: Any, run_id: str, host: str, lease: float, run_dir: Path) -> None:
        self.conn, self.run_id, self.host, self.lease = conn, run_id, host, lease
        self.run_dir = run_dir
        self.killed_at: float | None = None

    def beat(self, proc: subprocess.Popen[bytes] | None) -> None:
        now = time.time()
        phase, out_age = "start", 0.0
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads((self.run_dir / "heartbeat").read_text())
            phase, out_age = str(data.get("phase")), max(0.0, now - float(data["last_output"]))
        try:
            pipe = self.conn.pipeline()
            pipe.set(relay.heartbeat_key(self.run_id), json.dumps(
                {"host": self.host, "phase": phase, "output_age": out_age}),
                ex=int(self.lease * relay.HEARTBEAT_LEASES))
            pipe.exists(relay.kill_key(self.run_id))
            _, kill = pipe.execute()
        except Exception:  # Redis away: the worker goes on; beats resume when it is back
            return
        if kill and proc is not None:
            self.stop(proc)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if self.killed_at is None:
            self.killed_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        elif time.monotonic() - self.killed_at > KILL_GRACE_S:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def _run_worker(spec: Spec, beat: Relay) -> dict[str, Any]:
    run_dir = Path(spec.run_dir)
    env = build_env(os.environ, spec.agent.pass_env)
    with open(run_dir / "worker.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "shiftctl.worker",
                                 str(run_dir / "spec.json")], cwd=str(run_dir), env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    while proc.poll() is None:
        beat.beat(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=BEAT_S)
    try:
        data: dict[str, Any] = json.loads((run_dir / "result.json").read_text())
    except (OSError, ValueError):
        data = Result(outcome="failed", error="the worker on host ended without a result "
                      f"(exit {proc.returncode})").to_dict()
    return data


def _return_bundle(spec: Spec, result: dict[str, Any], work: Path) -> bytes:
    if spec.mode != "work" or not result.get("commits"):
        return b""
    path = work / "return.bundle"
    if not bundles.create(spec.repo, path, f"{spec.base_sha}..refs/heads/{spec.branch}"):
        return b""
    data = path.read_bytes()
    if len(data) > bundles.MAX_BUNDLE_BYTES:
        result.update(outcome="failed", commits=[], files_changed=[],
                      error=f"the new commits' bundle is {len(data)} bytes "
                            f"(limit {bundles.MAX_BUNDLE_BYTES})")
        return b""
    return data


def _deliver(conn: Any, run_id: str, signed: dict[str, Any], data: bytes,
             done: str = "") -> None:
    """The return into Redis, retried while Redis is away (a restart loses nothing)."""
    deadline = time.monotonic() + 300
    while True:
        try:
            pipe = conn.pipeline()
            if data:
                pipe.set(relay.bundle_key(run_id), data, ex=RETURN_TTL_S)
            pipe.set(relay.return_key(run_id), json.dumps(signed), ex=RETURN_TTL_S)
            pipe.delete(relay.heartbeat_key(run_id))
            if done:  # wakes the admin's nap
                pipe.rpush(done, run_id)
                pipe.expire(done, RETURN_TTL_S)
            pipe.execute()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def run_job(payload: dict[str, Any]) -> dict[str, Any]:
    """One run on this host (RQ calls it in its work horse)."""
    host, key = os.environ[ENV_NAME], Path(os.environ[ENV_KEY]).read_bytes()
    conn = relay.connect(os.environ.get(ENV_URL, relay.DEFAULT_URL_ENV),
                         os.environ.get(ENV_URL_FILE, ""))
    run_id = str(payload["spec"]["run_id"])
    if conn.exists(relay.kill_key(run_id)):
        return {"run_id": run_id, "skipped": "stopped before it started"}
    work = Path(os.environ[ENV_DIR]) / run_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, mode=0o700)
    beat = Relay(conn, run_id, host, float(payload["lease"]), work / "run")
    try:
        spec = _host_spec(payload, work)
        beat.beat(None)
        _repository(conn, run_id, work)
        result = _run_worker(spec, beat)
        data = _return_bundle(spec, result, work)
    except Exception as exc:  # the run fails; the host still reports, signed
        result = Result(outcome="failed", error=f"worker host {host}: "
                        f"{type(exc).__name__}: {exc}"[:4000]).to_dict()
        data = b""
        spec = Spec.from_dict(payload["spec"])
    doc = {"v": 1, "host": host, "run_id": run_id, "base_sha": spec.base_sha,
           "branch": spec.branch if spec.mode == "work" else "", "result": result,
           "bundle_sha256": hashlib.sha256(data).hexdigest()}
    _deliver(conn, run_id, sign(key, doc), data, str(payload.get("done_key") or ""))
    shutil.rmtree(work, ignore_errors=True)
    return {"run_id": run_id, "outcome": result.get("outcome")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="shiftctl worker-host")
    p.add_argument("--queue", default="shiftctl")
    p.add_argument("--name", default=socket.gethostname().split(".")[0])
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--key", type=Path, default=None)
    p.add_argument("--redis-url-env", default=relay.DEFAULT_URL_ENV)
    p.add_argument("--register", action="store_true")
    p.add_argument("--burst", action="store_true")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--redis-url-file", default="")
    p.add_argument("--run", default="", help="run this one run and exit (a Kubernetes pod)")
    args = p.parse_args(argv)
    if not relay.HOST_NAME.match(args.name) or not relay.QUEUE_NAME.match(args.queue):
        print("worker-host: --name and --queue take letters, digits, '.', '_' and '-' "
              "(at most 64)", file=sys.stderr)
        return 2
    key_path = args.key or _default_key()
    if args.register:
        print(f"{args.name} {public_of(ensure_key(key_path))}")
        return 0
    if not key_path.exists():
        print(f"worker-host: no key at {key_path}: run `shiftctl worker-host --register` and "
              "give its output to the admin (`shiftctl hosts add NAME KEY`)", file=sys.stderr)
        return 2
    workdir = args.workdir or Path.home() / ".cache" / "shiftctl" / "host"
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.update({ENV_NAME: args.name, ENV_DIR: str(workdir.resolve()),
                       ENV_KEY: str(key_path.resolve()), ENV_URL: args.redis_url_env,
                       ENV_URL_FILE: args.redis_url_file})
    try:
        conn = relay.connect(args.redis_url_env, args.redis_url_file)
    except relay.RelayError as exc:
        print(f"worker-host: {exc}", file=sys.stderr)
        return 2
    if args.run:
        return one_run(conn, args.run)
    if args.processes > 1:
        return _several(args.processes, argv if argv is not None else sys.argv[1:])
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer
    queue = Queue(args.queue, connection=conn, serializer=JSONSerializer)
    worker = Worker([queue], connection=conn, serializer=JSONSerializer,
                    name=f"{args.name}-{os.getpid()}")
    worker.work(burst=args.burst, logging_level="WARNING", with_scheduler=False)
    return 0


def one_run(conn: Any, run_id: str) -> int:
    """A Kubernetes pod's whole life: take the run's job (GETDEL, so no second pod can) and
    run it; a job already taken or gone is nothing to do."""
    raw = conn.getdel(relay.job_key(run_id))
    if raw is None:
        print(f"worker-host: run {run_id} is not waiting (taken or stopped)", file=sys.stderr)
        return 0
    run_job(json.loads(raw))
    return 0


def _several(n: int, argv: list[str]) -> int:
    """``n`` RQ workers (one run at a time each) under this process; a signal to it reaches
    them all."""
    own = [a for a in argv if not a.startswith("--processes")]
    if "--processes" in argv:
        i = argv.index("--processes")
        own = argv[:i] + argv[i + 2:]
    children = [subprocess.Popen([sys.executable, "-m", "shiftctl.worker.host", *own])
                for _ in range(n)]

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


if __name__ == "__main__":
    sys.exit(main())
