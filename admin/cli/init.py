"""``shiftctl init``: policy file and runtime directory in a target repository."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin.config import CONFIG_NAME, ConfigError, default_text
from shiftctl.admin.paths import Paths
from shiftctl.system import git
from shiftctl.system.env import local_identity


def init(root: Path, *, tracker: str = "local", repo: str | None = None,
         force: bool = False) -> list[str]:
    root = root.resolve()
    if git.run(root, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise ConfigError(f"{root} is not a git repository (run 'git init' first)")
    base = git.out(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False) or "main"
    done = []
    target = root / CONFIG_NAME
    if target.exists() and not force:
        done.append(f"kept existing {target}")
    else:
        text = default_text(tracker=tracker, author=local_identity(), base_branch=base,
                            repo=repo or _guess_repo(root))
        target.write_text(text)
        done.append(f"wrote {target}")
    Paths(root).ensure()
    done.append(f"created {Paths(root).runtime}/ (git-ignored)")
    return done


def _guess_repo(root: Path) -> str:
    url = git.out(root, "remote", "get-url", "origin", check=False)
    for prefix in ("git@github.com:", "https://github.com/", "ssh://git@github.com/"):
        if url.startswith(prefix):
            name = url[len(prefix):]
            return name[:-4] if name.endswith(".git") else name
    return "owner/name"
