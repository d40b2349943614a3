"""The GitHub tracker's own promises: few requests, quotas honoured, writes never lost."""
from __future__ import annotations

import time

import pytest

from shiftctl.admin.tracker import MemoryKV, RateLimited, markers
from shiftctl.admin.tracker.github.cursor import Cursor
from shiftctl.admin.tracker.github.tracker import GithubTracker
from shiftctl.admin.tracker.outbox import PR_BODY_LIMIT, Outbox

from support.github import GithubWorld, github_tracker, start_github
from support.repos import git


def pushed_branch(t: GithubTracker, name: str) -> str:
    """A branch with one commit, pushed to the fake's remote."""
    git(t.root, "checkout", "-q", "-b", name)
    (t.root / name.replace("/", "-")).write_text(name + "\n")
    git(t.root, "add", "-A")
    git(t.root, "commit", "-qm", name)
    git(t.root, "checkout", "-q", "main")
    t.push(t.root, name)
    return name


def paths(gh: GithubWorld, mark: int) -> list[str]:
    return [f"{r.method} {r.path} {r.status}" for r in gh.fake.since(mark)]


def test_an_unchanged_listing_is_a_304_that_costs_no_quota(github: GithubWorld) -> None:
    github.world.file_issue("A", "", ["shiftctl"], "alice")
    t = github_tracker(github)
    cursor = t.sync(t.sync(None).cursor).cursor
    used = github.fake.quota("shiftbot").used
    mark = github.fake.mark()
    for _ in range(5):
        cursor = t.sync(cursor).cursor
    assert paths(github, mark) == ["GET /repos/acme/widgets/issues 304"] * 5
    assert github.fake.quota("shiftbot").used == used
    assert t.rate_status()["remaining"] == 5000 - used  # type: ignore[index]


def test_the_first_sync_pages_through_every_open_issue(github: GithubWorld) -> None:
    now = time.time()
    for i in range(250):
        github.world.file_issue(f"old {i}", "", ["bug"], "mallory", ts=now - 86400 + i)
    github.world.set_state(3, "closed", "alice")
    t = github_tracker(github)
    mark = github.fake.mark()
    changes = t.sync(None)
    assert len(changes.issues) == 249 and changes.issues[0].number == 1
    assert len(github.fake.since(mark)) == 3  # 100 per page, following the Link header


def test_own_comments_are_not_news_but_a_persons_are(github: GithubWorld) -> None:
    n = github.world.file_issue("A", "", ["shiftctl"], "alice")
    t = github_tracker(github)
    t.sync(t.sync(None).cursor)
    t.post_comment(n, "<!-- shiftctl:plan:1:1 -->\nplan")
    cursor = t.cursor()
    assert Cursor.decode(cursor).seen[n] == 1  # type: ignore[union-attr]
    mark = github.fake.mark()
    t.sync(cursor)
    assert not any("comments" in p for p in paths(github, mark))
    github.world.comment(n, "/approve", "alice")
    mark = github.fake.mark()
    changes = t.sync(t.cursor())
    assert any("comments" in p for p in paths(github, mark))
    assert [c.body for c in changes.issues[0].comments][-1] == "/approve"


def test_permissions_are_asked_once_then_cached_in_the_admins_kv(github: GithubWorld) -> None:
    kv = MemoryKV()
    t = github_tracker(github, kv)
    mark = github.fake.mark()
    assert t.is_allowed("alice") and t.is_allowed("bob") and t.is_allowed("alice")
    assert not t.is_allowed("mallory") and not t.is_allowed("tom")
    assert not t.is_allowed("nobody-at-all")  # 404: not a collaborator
    asked = [p for p in paths(github, mark) if "/permission" in p]
    assert len(asked) == 5
    again = github_tracker(github, kv)
    mark = github.fake.mark()
    assert again.is_allowed("alice") and not again.is_allowed("shiftbot")
    assert paths(github, mark) == []  # the bot's login and alice's permission were cached


def test_configured_allowed_authors_need_no_permission_lookups(github: GithubWorld) -> None:
    t = github_tracker(github, bot="shiftbot")
    t.allowed = ("mallory",)
    mark = github.fake.mark()
    assert t.is_allowed("mallory") and not t.is_allowed("alice")
    assert paths(github, mark) == []


def test_state_labels_are_created_with_their_colour_once(github: GithubWorld) -> None:
    n = github.world.file_issue("A", "", ["shiftctl"], "alice")
    kv = MemoryKV()
    t = github_tracker(github, kv)
    t.set_labels(n, add=("shiftctl:active",))
    label = github.world.labels["shiftctl:active"]
    assert label.color == "0e8a16" and "working" in (label.description or "")
    m = github.world.file_issue("B", "", ["shiftctl"], "alice")
    mark = github.fake.mark()
    t.set_labels(m, add=("shiftctl:active",))
    assert paths(github, mark) == ["GET /repos/acme/widgets/issues/2/labels 200",
                                   "POST /repos/acme/widgets/issues/2/labels 200"]


def test_a_secondary_rate_limit_is_waited_out_and_the_write_lands_once(
        github: GithubWorld) -> None:
    n = github.world.file_issue("A", "", ["shiftctl"], "alice")
    t = github_tracker(github)
    github.fake.fail(403, retry_after=1, method="POST", path_contains="/comments")
    started = time.monotonic()
    posted = t.post_comment(n, "hello")
    assert time.monotonic() - started >= 1.0
    assert [c["body"] for c in github.world.issue_view(n)["comments"]] == ["hello"]
    assert posted.body == "hello"
    github.fake.fail(429, retry_after=1, method="PATCH")
    t.close_issue(n)
    assert github.world.item(n).state == "closed"


def test_a_long_wait_ends_the_cycle_with_the_reset_time(github: GithubWorld) -> None:
    n = github.world.file_issue("A", "", ["shiftctl"], "alice")
    t = github_tracker(github, max_retry_wait=5)
    github.fake.fail(403, retry_after=600, method="POST")
    with pytest.raises(RateLimited) as err:
        t.post_comment(n, "hello")
    assert err.value.reset_at is not None and err.value.reset_at > time.time() + 500
    assert github.world.issue_view(n)["comments"] == []
    mark = github.fake.mark()
    with pytest.raises(RateLimited):  # told to wait: no request until then
        t.sync(None)
    assert paths(github, mark) == []
    assert t.rate_status()["limited_until"] == pytest.approx(err.value.reset_at)  # type: ignore[index]


def test_a_spent_quota_is_not_spent_further(github: GithubWorld) -> None:
    quota = github.fake.quota("shiftbot")
    quota.used = quota.limit - 1
    t = github_tracker(github, max_retry_wait=5)
    t.sync(None)  # the last request of the hour
    mark = github.fake.mark()
    with pytest.raises(RateLimited) as err:
        t.sync(None)
    assert err.value.reset_at == pytest.approx(quota.reset_at, abs=2)
    assert paths(github, mark) == []


def test_an_existing_pull_request_is_reused(github: GithubWorld) -> None:
    t = github_tracker(github)
    pushed_branch(t, "shiftctl/issue-1")
    first = t.open_pr(head="shiftctl/issue-1", base="main", title="T", body="b", draft=True,
                      issue=1)
    second = t.open_pr(head="shiftctl/issue-1", base="main", title="T", body="b", draft=True,
                       issue=1)
    assert first.number == second.number and len(github.world.pulls()) == 1


def test_pull_request_bodies_stay_within_githubs_limit(github: GithubWorld, tmp_path) -> None:
    from shiftctl.memory.store import Store
    t = github_tracker(github)
    pushed_branch(t, "shiftctl/issue-7")
    store = Store.open(tmp_path / "state.db")
    outbox = Outbox(store, t)
    pr, opened = outbox.pull_request(issue=7, head="shiftctl/issue-7", base="main", title="T",
                                     body="x" * 100_000)
    assert opened and len(github.world.item(pr.number).body or "") == PR_BODY_LIMIT
    outbox.pr_body(pr, 7, "y" * 200_000)
    assert (github.world.item(pr.number).body or "").startswith(markers.marker("pr", 7, pr.head))
    store.close()


def test_github_enterprise_lives_under_api_v3(tmp_path, monkeypatch) -> None:
    from support.github import TOKEN, TOKEN_ENV
    from support.repos import make_repo
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    root = make_repo(tmp_path / "repo")
    gh = start_github(root, tmp_path, prefix="/api/v3")
    try:
        assert gh.fake.base_url.endswith("/api/v3")
        n = gh.world.file_issue("A", "", ["shiftctl"], "alice")
        t = github_tracker(gh)
        assert [i.number for i in t.sync(None).issues] == [n]
        assert t.is_allowed("alice")
        pushed_branch(t, "feat")
        pr = t.open_pr(head="feat", base="main", title="F", body="b", draft=True, issue=n)
        t.update_pr(pr.number, draft=False)  # GraphQL at /api/graphql
        assert t.get_pr(pr.number).draft is False
        assert all(r.path.startswith("/api/") for r in gh.fake.log)
    finally:
        gh.fake.stop()
    assert not gh.fake.problems, gh.fake.problems[:3]


def test_a_missing_token_is_a_clear_error(github: GithubWorld, monkeypatch) -> None:
    from shiftctl.admin.tracker import TrackerError

    from support.github import TOKEN_ENV
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(TrackerError, match=f"\\${TOKEN_ENV} is not set"):
        github_tracker(github)
