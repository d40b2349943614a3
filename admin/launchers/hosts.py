"""The worker hosts an admin trusts: one public key per host name, kept beside the audit key
in the admin user's config directory (outside the repository, where no agent reaches), one
file per host (``shiftctl hosts add NAME KEY``)."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin.paths import Paths
from shiftctl.system import relay
from shiftctl.system.fs import atomic_write
from shiftctl.system.signing import SignatureError, check_public


class HostError(ValueError):
    """A host name or key that cannot be registered."""


def _dir(paths: Paths) -> Path:
    return paths.audit_dir.parent / "hosts" / paths.repo_id


def add(paths: Paths, name: str, public: str) -> Path:
    if not relay.HOST_NAME.match(name):
        raise HostError(f"host name {name!r}: use letters, digits, '.', '_' and '-' "
                        "(at most 64)")
    try:
        check_public(public.strip())
    except SignatureError as exc:
        raise HostError(f"host {name}: {exc} (the second word `shiftctl worker-host "
                        "--register` printed)") from exc
    path = _dir(paths) / f"{name}.pub"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, public.strip() + "\n")
    return path


def remove(paths: Paths, name: str) -> bool:
    path = _dir(paths) / f"{name}.pub"
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def keys(paths: Paths) -> dict[str, str]:
    """Every registered host's public key, by name."""
    try:
        files = sorted(_dir(paths).glob("*.pub"))
    except OSError:
        return {}
    out = {}
    for f in files:
        try:
            out[f.stem] = f.read_text().strip()
        except OSError:
            continue
    return out
