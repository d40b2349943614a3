"""What a worker host returns reaches the task branch only when it is signed by that host's
registered key, is about this run and its base commit, and its bundle carries exactly the
task branch built on that base with exactly the reported commits. A host that is itself
compromised (it signs whatever it likes) still cannot move another ref or change history."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shiftctl.admin.launchers.returns import Expected, Forged, accept
from shiftctl.system.signing import new_key, public_of, sign

from support.repos import git, make_repo

BRANCH = "shiftctl/1-t1"
KEY = new_key()
KEYS = {"h1": public_of(KEY)}


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path, str]:
    """(the admin's repository, a host's copy of it on the task branch, the base commit)."""
    admin = make_repo(tmp_path / "admin")
    host = tmp_path / "host"
    subprocess.run(["git", "clone", "-q", str(admin), str(host)], check=True)
    git(host, "checkout", "-q", "-b", BRANCH)
    base = git(admin, "rev-parse", "main")
    return admin, host, base


def commit(repo: Path, name: str) -> str:
    (repo / name).write_text(name + "\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD")


def bundle(repo: Path, *revs: str) -> bytes:
    path = repo.parent / "out.bundle"
    git(repo, "bundle", "create", "-q", str(path), *revs)
    return path.read_bytes()


def signed(data: bytes, commits: list[str], base: str, *, key: bytes = KEY, host: str = "h1",
           run_id: str = "1-t1-a1", branch: str = BRANCH) -> dict[str, Any]:
    return sign(key, {"v": 1, "host": host, "run_id": run_id, "base_sha": base,
                      "branch": branch, "bundle_sha256": hashlib.sha256(data).hexdigest(),
                      "result": {"outcome": "succeeded", "commits": commits}})


def expect(base: str, **kw: Any) -> Expected:
    return Expected(run_id="1-t1-a1", base_sha=base, branch=BRANCH, **kw)


def test_a_genuine_return_moves_the_task_branch_to_its_tip(repos) -> None:
    admin, host, base = repos
    c1, c2 = commit(host, "a.txt"), commit(host, "b.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    result, name = accept(admin, signed(data, [c1, c2], base), data, KEYS, expect(base))
    assert (result.outcome, result.commits, name) == ("succeeded", [c1, c2], "h1")
    assert git(admin, "rev-parse", f"refs/heads/{BRANCH}") == c2


def rejected(admin: Path, signed_doc: Any, data: bytes, want: Expected, words: str,
             keys: dict[str, str] = KEYS) -> None:
    before = refs(admin)
    with pytest.raises(Forged, match=words):
        accept(admin, signed_doc, data, keys, want)
    assert refs(admin) == before  # nothing reached any ref


def test_a_return_signed_by_another_key_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c1], base, key=new_key()), data, expect(base),
             "signature does not match")


def test_a_return_from_an_unregistered_host_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c1], base, host="h9"), data, expect(base), "not registered")


def test_a_result_edited_after_signing_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    doc = signed(data, [c1], base)
    doc["doc"]["result"]["outcome"] = "needs_breakdown"
    rejected(admin, doc, data, expect(base), "signature does not match")


def test_a_genuine_return_replayed_for_another_run_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c1], base, run_id="1-t1-a0"), data, expect(base),
             "run_id")


def test_a_bundle_swapped_after_signing_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    commit(host, "evil.txt")
    other = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c1], base), other, expect(base), "SHA-256")


def test_a_signed_bundle_with_an_extra_ref_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    git(host, "checkout", "-q", "-b", "evil", "main")
    commit(host, "evil.txt")
    data = bundle(host, f"{base}..{BRANCH}", f"{base}..evil")
    rejected(admin, signed(data, [c1], base), data, expect(base), "exactly one ref")
    assert git(admin, "branch", "--list", "evil") == ""


def test_a_signed_bundle_of_another_ref_is_refused(repos) -> None:
    admin, host, base = repos
    git(host, "checkout", "-q", "-b", "main-2")
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..main-2")
    rejected(admin, signed(data, [c1], base), data, expect(base), "exactly one ref")


def test_a_signed_bundle_based_elsewhere_is_refused(repos) -> None:
    admin, host, base = repos
    git(host, "checkout", "-q", "--orphan", "tmp")
    git(host, "rm", "-rq", "--cached", ".")
    c1 = commit(host, "history.txt")
    git(host, "branch", "-f", BRANCH, c1)
    data = bundle(host, BRANCH)  # a whole new history under the task branch's name
    rejected(admin, signed(data, [c1], base), data, expect(base), "not based on")


def test_a_signed_bundle_needing_unknown_commits_is_refused(repos) -> None:
    admin, host, base = repos
    hidden = commit(host, "a.txt")
    c2 = commit(host, "b.txt")
    data = bundle(host, f"{hidden}..{BRANCH}")  # its prerequisite is not in the admin's repo
    rejected(admin, signed(data, [c2], base), data, expect(base), "verify refused")


def test_a_signed_bundle_with_commits_the_result_does_not_report_is_refused(repos) -> None:
    admin, host, base = repos
    commit(host, "a.txt")
    c2 = commit(host, "b.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c2], base), data, expect(base), "not the ones the result")


def test_a_bundle_over_the_cap_is_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    data = bundle(host, f"{base}..{BRANCH}")
    rejected(admin, signed(data, [c1], base), data, expect(base, max_bytes=len(data) - 1),
             "limit")


def test_commits_reported_without_a_bundle_are_refused(repos) -> None:
    admin, host, base = repos
    c1 = commit(host, "a.txt")
    rejected(admin, signed(b"", [c1], base), b"", expect(base), "no bundle")
