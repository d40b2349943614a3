"""What the admin and worker hosts share through Redis (docs/design.md §5, docs/many-machines.md):
the connection (its URL only ever in an environment variable) and the names of the keys.

Redis is transport, never the state of record (that is ``state.db``): every key here expires,
and losing all of them loses no task: the admin sees the run gone and runs it again.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

DEFAULT_URL_ENV = "SHIFTCTL_REDIS_URL"
PREFIX = "shiftctl:"
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RelayError(RuntimeError):
    """Redis cannot be reached or is not configured; the message never holds the URL."""


def connect(url_env: str = DEFAULT_URL_ENV, url_file: str = "") -> Any:
    """A Redis client for the URL in ``$url_env`` (never logged, never written to a file by
    shiftctl), or in ``url_file`` (a mounted Kubernetes Secret: no secret in a pod's env)."""
    if url_file:
        try:
            url = Path(url_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RelayError(f"cannot read the Redis URL file {url_file}: "
                             f"{exc.strerror}") from None
    else:
        url = os.environ.get(url_env, "")
    if not url:
        raise RelayError(f"${url_env} is not set: it must hold the Redis URL "
                         "(redis://[:password@]host:port/db) the admin and the worker hosts share")
    import redis
    try:
        return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                    health_check_interval=15)
    except ValueError:
        raise RelayError(f"${url_env} does not hold a valid Redis URL") from None


def base_key(run_id: str) -> str:
    """The git bundle of the repository at the run's base commit (raw bytes)."""
    return f"{PREFIX}base:{run_id}"


HEARTBEAT_LEASES = 3  # a heartbeat key lives this many leases: its age is read from its TTL


def heartbeat_key(run_id: str) -> str:
    """The run's heartbeat, set by the host's job every beat, expiring ``HEARTBEAT_LEASES``
    leases later: the admin reads its age from its TTL (no host's clock counts), so a host
    silent for one lease is seen as such while the key still exists."""
    return f"{PREFIX}hb:{run_id}"


def kill_key(run_id: str) -> str:
    """Present: the run must stop (the job's heartbeat checks it every beat)."""
    return f"{PREFIX}kill:{run_id}"


def return_key(run_id: str) -> str:
    """The host's signed return document (JSON)."""
    return f"{PREFIX}ret:{run_id}"


def bundle_key(run_id: str) -> str:
    """The git bundle of the run's new commits (raw bytes; absent: none)."""
    return f"{PREFIX}retb:{run_id}"


def job_key(run_id: str) -> str:
    """A run's job (JSON) waiting for a pod to take it (kubernetes launcher): present means
    queued; the pod takes it with GETDEL."""
    return f"{PREFIX}job:{run_id}"


def seen_key(run_id: str) -> str:
    """When the admin first probed the run (its own clock): a job a host has taken but not
    yet beaten for is alive for one lease from then, not forever."""
    return f"{PREFIX}seen:{run_id}"


def done_key(queue: str) -> str:
    """A list the hosts push a run's id onto when they deliver its return: the admin's nap
    waits on it (BLPOP), as it waits on the wake file for local workers."""
    return f"{PREFIX}done:{queue}"


def run_keys(run_id: str) -> list[str]:
    return [base_key(run_id), heartbeat_key(run_id), kill_key(run_id), return_key(run_id),
            bundle_key(run_id), job_key(run_id), seen_key(run_id)]
