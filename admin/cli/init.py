"""``shiftctl init``: policy file and runtime directory in a target repository."""
from __future__ import annotations

from pathlib import Path

from shiftctl.admin.config import CONFIG_NAME, ConfigError, default_text
from shiftctl.admin.paths import Paths
from shiftctl.system import git
from shiftctl.system.env import local_identity


def init(root: Path, *, tracker: str | None = None, repo: str | None = None,
         force: bool = False) -> list[str]:
    """Write shiftctl.yaml (``tracker`` None: local) and the runtime directory. Options that
    would change an existing file are refused without ``--force``, never silently ignored."""
    root = root.resolve()
    if git.run(root, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise ConfigError(f"{root} is not a git repository (run 'git init' first)")
    base = git.out(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False) or "main"
    done = []
    target = root / CONFIG_NAME
    if target.exists() and not force:
        given = [f"--{name} {value}" for name, value in (("tracker", tracker), ("repo", repo))
                 if value is not None]
        if given:
            raise ConfigError(f"{target} exists; {' and '.join(given)} would change it: edit "
                              "the file, or run init again with --force to overwrite it")
        done.append(f"kept existing {target}")
    else:
        kind = tracker or "local"
        if kind == "github" and repo is None:
            repo = _guess_repo(root)
        if repo is not None and (repo.count("/") != 1 or not all(repo.split("/"))):
            raise ConfigError(f"--repo {repo!r} is not owner/name")
        text = default_text(tracker=kind, author=local_identity(), base_branch=base,
                            repo=repo or "owner/name")
        target.write_text(text)
        done.append(f"wrote {target}")
    Paths(root).ensure()
    done.append(f"created {Paths(root).runtime}/ (git-ignored)")
    return done


def _guess_repo(root: Path) -> str:
    """owner/name from a GitHub origin; anything else is an error that says what to give."""
    url = git.out(root, "remote", "get-url", "origin", check=False)
    for prefix in ("git@github.com:", "https://github.com/", "ssh://git@github.com/"):
        if url.startswith(prefix):
            name = url[len(prefix):].rstrip("/")
            name = name[:-4] if name.endswith(".git") else name
            if name.count("/") == 1 and all(name.split("/")):
                return name
    where = f"origin is {url!r}" if url else "there is no origin remote"
    raise ConfigError(f"cannot tell the GitHub repository: {where}, not a github.com URL; "
                      "give it with --repo owner/name (GitHub Enterprise: also set "
                      "tracker.github.api_url)")
