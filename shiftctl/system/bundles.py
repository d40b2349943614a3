"""git bundles, the one way commits travel between the admin and a worker host (docs/design.md
§5): the admin sends the base, the host returns its new commits. Every call goes through the
hardened git helper; a bundle is only ever read from a file shiftctl wrote."""
from __future__ import annotations

from pathlib import Path

from shiftctl.system import git

MAX_BUNDLE_BYTES = 64 * 1024 * 1024  # what a host may return; more fails the run


class BundleError(ValueError):
    """A bundle that git refuses or that is not what was asked for."""


def create(where: git.Where, path: Path, *revs: str) -> bool:
    """``git bundle create PATH REVS``; False when there is nothing to bundle."""
    proc = git.run(where, "bundle", "create", "-q", str(path), *revs, check=False)
    if proc.returncode != 0:
        if "empty bundle" in (proc.stderr or ""):
            return False
        raise BundleError(f"git bundle create failed: {(proc.stderr or '').strip()[:500]}")
    return True


def heads(where: git.Where, path: Path) -> list[tuple[str, str]]:
    """The (sha, ref) pairs a bundle carries."""
    proc = git.run(where, "bundle", "list-heads", str(path), check=False)
    if proc.returncode != 0:
        raise BundleError(f"not a readable git bundle: {(proc.stderr or '').strip()[:500]}")
    pairs = []
    for line in proc.stdout.splitlines():
        sha, _, ref = line.strip().partition(" ")
        if sha:
            pairs.append((sha, ref))
    return pairs


def verify(where: git.Where, path: Path) -> None:
    """``git bundle verify``: well-formed, and every prerequisite commit is in ``where``."""
    proc = git.run(where, "bundle", "verify", "-q", str(path), check=False)
    if proc.returncode != 0:
        raise BundleError("git bundle verify refused it: "
                          + (proc.stderr or proc.stdout or "").strip()[:500])


def unbundle(where: git.Where, path: Path) -> None:
    """The bundle's objects into ``where``'s object store; no ref is written."""
    proc = git.run(where, "bundle", "unbundle", str(path), check=False)
    if proc.returncode != 0:
        raise BundleError(f"git bundle unbundle failed: {(proc.stderr or '').strip()[:500]}")
