"""The ``rq`` launcher: one RQ job per run on a Redis queue, run by ``shiftctl worker-host``
processes on other machines (docs/design.md §5, docs/many-machines.md).

The admin sends the run's spec and prompt as the job (JSON, never pickle: a host unpickles
nothing) and the repository at the base commit as a git bundle under an expiring key; a host
relays its heartbeat into an expiring key and returns a signed document and a bundle of the
new commits, which ``returns.accept`` checks before the task branch moves. Redis is
transport: the state of record stays in ``state.db``, so a Redis that forgets everything
costs a run (seen as lost, retried without spending an attempt), never a task.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiftctl.admin.config import Config
from shiftctl.admin.launchers import hosts
from shiftctl.admin.launchers.base import Collected, LauncherError, Liveness
from shiftctl.admin.launchers.returns import Expected, Forged, accept
from shiftctl.admin.paths import Paths
from shiftctl.memory.store import Run
from shiftctl.system import bundles, git, relay
from shiftctl.worker.spec import Spec

JOB_FUNC = "shiftctl.worker.host.run_job"  # by name: the admin never imports the host
WAITING = (b"queued", b"deferred", b"scheduled")
JOB_MARGIN_S = 900      # beyond the worker's own limits, before RQ ends the job itself
KEY_TTL_S = 7 * 86400


def job_timeout(spec: Spec) -> int:
    """RQ's limit (its default, 180 s, is wrong for agents): the task timeout, every check's
    timeout and a margin, so that the worker's own limits always fire first."""
    return int(spec.agent.task_timeout + sum(c.timeout for c in spec.checks) + JOB_MARGIN_S)


def base_bundle(repo: Path, spec: Spec) -> bytes:
    """The repository at ``base_sha`` (and the kept branch's head, for a retry that keeps its
    commits): a bundle of two temporary refs, removed again."""
    names = {"base": spec.base_sha}
    if spec.keep_branch and spec.keep_head:
        names["keep"] = spec.keep_head
    prefix = f"refs/shiftctl-send/{spec.run_id}"
    path = Path(spec.run_dir) / "base.bundle"
    try:
        for name, sha in names.items():
            git.run(repo, "update-ref", f"{prefix}/{name}", sha)
        bundles.create(repo, path, *(f"{prefix}/{n}" for n in names))
        return path.read_bytes()
    finally:
        for name in names:
            git.run(repo, "update-ref", "-d", f"{prefix}/{name}", check=False)
        path.unlink(missing_ok=True)


class RqLauncher:
    kind = "rq"

    def __init__(self, config: Config, paths: Paths | None = None) -> None:
        self.config = config
        self.paths = paths or Paths(config.root)
        self.settings = config.workers.launcher
        self._conn: Any = None

    def conn(self) -> Any:
        if self._conn is None:
            try:
                self._conn = relay.connect(self.settings.redis_url_env)
            except relay.RelayError as exc:
                raise LauncherError(f"workers.launcher (rq): {exc}") from exc
        return self._conn

    def launch(self, spec: Spec, env: dict[str, str]) -> dict[str, Any]:
        from rq import Queue
        from rq.serializers import JSONSerializer
        data = base_bundle(Path(spec.repo), spec)
        if len(data) > bundles.MAX_BUNDLE_BYTES:
            raise LauncherError(f"the repository bundle for run {spec.run_id} is {len(data)} "
                                f"bytes (limit {bundles.MAX_BUNDLE_BYTES})")
        conn = self.conn()
        limit = job_timeout(spec)
        conn.set(relay.base_key(spec.run_id), data, ex=limit + KEY_TTL_S)
        payload = self.payload(spec)
        Queue(self.settings.queue, connection=conn, serializer=JSONSerializer).enqueue(
            JOB_FUNC, payload, job_id=spec.run_id, job_timeout=limit,
            result_ttl=KEY_TTL_S, failure_ttl=KEY_TTL_S, description=f"shiftctl {spec.run_id}")
        return {"handle": spec.run_id}

    def payload(self, spec: Spec) -> dict[str, Any]:
        """The job: the spec, the prompt, the lease, and where to say it is done."""
        return {"spec": spec.to_dict(), "lease": self.config.workers.lease,
                "prompt": Path(spec.prompt_file).read_text(encoding="utf-8"),
                "done_key": relay.done_key(self.settings.queue)}

    def wait_for_return(self, seconds: float) -> bool:
        """Block up to ``seconds`` until a host delivers a return (the nap's wake)."""
        from redis.exceptions import RedisError
        try:
            return self.conn().blpop([relay.done_key(self.settings.queue)],
                                     timeout=max(0.01, seconds)) is not None
        except RedisError:
            time.sleep(seconds)
            return False

    def _peek(self, run: Run) -> tuple[Any, Any, Any, Any]:
        """(heartbeat TTL, heartbeat, return present, waiting answer): one round trip."""
        pipe = self.conn().pipeline(transaction=False)
        pipe.ttl(relay.heartbeat_key(run.id))
        pipe.get(relay.heartbeat_key(run.id))
        pipe.exists(relay.return_key(run.id))
        self._ask_waiting(pipe, run)
        ttl, beat, ret, status = pipe.execute()
        return ttl, beat, ret, status

    def _silent_since(self, run: Run, now: float) -> float:
        """When the admin first found the run taken by a host but without a heartbeat (its
        own clock; a second round trip, only in that state)."""
        pipe = self.conn().pipeline(transaction=False)
        pipe.set(relay.seen_key(run.id), repr(now), nx=True, ex=KEY_TTL_S)
        pipe.get(relay.seen_key(run.id))
        _, seen = pipe.execute()
        try:
            return float(seen)
        except (TypeError, ValueError):
            return now

    def _ask_waiting(self, pipe: Any, run: Run) -> None:
        """Queue the command whose answer ``_waiting`` reads: the RQ job's status."""
        pipe.hget(f"rq:job:{run.handle or run.id}", "status")

    def _waiting(self, answer: Any) -> bool:
        """The run waits for a host to take it."""
        return answer in WAITING

    def _starting(self, answer: Any) -> bool:
        """A host has taken the run and may not have beaten yet (RQ: the job is started;
        no job at all, or a finished one, will never beat)."""
        return bool(answer == b"started")

    def probe(self, run: Run, now: float) -> Liveness:
        """One Redis round trip: the heartbeat (its age from its TTL, so no host's clock
        counts), the return, the job's status. A job still waiting for a host is alive."""
        from redis.exceptions import RedisError
        try:
            ttl, beat, ret, status = self._peek(run)
            starting = beat is None and not ret and self._starting(status)
            first = self._silent_since(run, now) if starting else now
        except RedisError:  # Redis away: assume alive, reclaim nothing on a transport outage
            return Liveness(alive=True, heartbeat_age=0.0, output_age=0.0, result_ready=False)
        if beat is not None:
            try:
                data = json.loads(beat)
                lease = float(self.config.workers.lease)
                age = max(0.0, lease * relay.HEARTBEAT_LEASES - max(int(ttl), 0))
                return Liveness(alive=age < lease, heartbeat_age=age,
                                output_age=age + float(data.get("output_age") or 0),
                                result_ready=bool(ret), host=str(data.get("host") or "") or None)
            except (ValueError, TypeError, AttributeError):
                pass
        if self._waiting(status):  # no host has taken it yet: waiting is not dying
            return Liveness(alive=True, heartbeat_age=0.0, output_age=0.0,
                            result_ready=bool(ret))
        if not starting:  # no job, or one that ended: nothing will beat for it again
            return Liveness(alive=False, heartbeat_age=None, output_age=None,
                            result_ready=bool(ret))
        # taken, no beat yet: alive for one lease from the first probe that saw it so
        silent = max(0.0, now - first)
        return Liveness(alive=silent < self.config.workers.lease, heartbeat_age=silent,
                        output_age=silent, result_ready=bool(ret))

    def stop(self, runs: Sequence[Run], grace: float) -> None:
        """The kill key for each run (its host's relay ends the worker, which ends its agent
        and reports); a job no host has taken yet finds the key and does nothing. Waits up to
        ``grace`` for the hosts to answer."""
        if not runs:
            return
        pipe = self.conn().pipeline(transaction=False)
        for run in runs:
            pipe.set(relay.kill_key(run.id), "1", ex=KEY_TTL_S)
        pipe.execute()
        deadline = time.monotonic() + grace
        left = list(runs)
        while left and time.monotonic() < deadline:
            left = [r for r in left if self._running(r)]
            if left:
                time.sleep(0.2)

    def _running(self, run: Run) -> bool:
        """A host still beats for it and has not returned."""
        _ttl, beat, ret, _status = self._peek(run)
        return beat is not None and not ret

    def end_agent(self, run: Run) -> None:
        self.conn().set(relay.kill_key(run.id), "1", ex=KEY_TTL_S)

    def collect(self, run: Run) -> Collected:
        conn = self.conn()
        raw, data = conn.get(relay.return_key(run.id)), conn.get(relay.bundle_key(run.id))
        if raw is None:
            status = conn.hget(f"rq:job:{run.handle or run.id}", "status")
            shown = status.decode() if status else "gone from Redis"
            return Collected(None, f"the worker host returned nothing (job {shown}): host "
                             "lost, retried without spending an attempt", missing=True,
                             imposed="lost")
        want = Expected(run_id=run.id, base_sha=run.base_sha or "",
                        branch=(run.branch or "") if run.kind == "work" else "")
        try:
            signed = json.loads(raw)
            result, host = accept(self.config.root, signed, data or b"", hosts.keys(self.paths),
                                  want)
        except (Forged, ValueError) as exc:
            return Collected(None, f"forged return refused: {exc}", imposed="tampered")
        finally:
            conn.delete(*relay.run_keys(run.id))
        return Collected(result, columns={"host": host})
