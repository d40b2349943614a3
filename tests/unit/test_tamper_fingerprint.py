"""Tampering: fingerprints compared and the undo planned, as plain data."""
from __future__ import annotations

from shiftctl.worker.tamper import Change, diff, label, plan_undo

BEFORE = {"config": "sha256:aa:644", "hooks": "dir", "hooks/pre-commit.sample": "sha256:s:755",
          "worktrees/1-t1/config.worktree": "sha256:w:644", "ref:refs/heads/main": "c1",
          "ref:refs/tags/v1": "c0"}


def test_no_change_is_no_difference() -> None:
    assert diff(BEFORE, dict(BEFORE)) == []


def test_additions_removals_and_changes_are_named_in_a_stable_order() -> None:
    after = {**BEFORE, "config": "sha256:bb:644", "hooks/post-merge": "sha256:p:755",
             "ref:refs/heads/main": "c2"}
    del after["ref:refs/tags/v1"]
    assert diff(BEFORE, after) == [
        Change("config", "changed", "sha256:aa:644", "sha256:bb:644"),
        Change("hooks/post-merge", "added", None, "sha256:p:755"),
        Change("ref:refs/heads/main", "changed", "c1", "c2"),
        Change("ref:refs/tags/v1", "removed", "c0", None),
    ]


def test_a_worktree_config_gone_with_its_pruned_worktree_is_not_a_change() -> None:
    after = {k: v for k, v in BEFORE.items() if not k.startswith("worktrees/")}
    assert diff(BEFORE, after) == []
    planted = {**BEFORE, "worktrees/1-t1/config.worktree": "sha256:evil:644"}
    assert [c.kind for c in diff(BEFORE, planted)] == ["changed"]


def test_the_undo_removes_additions_quarantines_refs_and_restores_the_rest() -> None:
    changes = [Change("hooks/post-merge", "added", None, "p"),
               Change("ref:refs/tags/evil", "added", None, "c9"),
               Change("ref:refs/heads/main", "changed", "c1", "c2"),
               Change("config", "changed", "a", "b"),
               Change("hooks", "changed", "dir", "link:/elsewhere"),
               Change("info/attributes", "removed", "big", None)]
    steps = plan_undo(changes, restorable={"config", "hooks"}, tainted={})
    assert [(s.action, s.change.key) for s in steps] == [
        ("restore", "config"), ("restore", "hooks"),      # directories before their files
        ("remove", "hooks/post-merge"),
        ("keep", "info/attributes"),                     # its earlier content was not kept
        ("restore", "ref:refs/heads/main"), ("quarantine", "ref:refs/tags/evil")]
    assert "too large" in steps[3].why


def test_a_state_another_run_undid_is_never_restored() -> None:
    changes = [Change("config", "changed", "evil", "clean"),
               Change("ref:refs/heads/main", "changed", "c-evil", "c1")]
    steps = plan_undo(changes, restorable={"config"},
                      tainted={"config": ["evil"], "ref:refs/heads/main": ["c-evil"]})
    assert [s.action for s in steps] == ["keep", "keep"]
    assert all("undone as tampering" in s.why for s in steps)


def test_labels_say_what_a_change_is_about() -> None:
    assert label("hooks/post-merge") == "hook `post-merge`"
    assert label("hooks") == "the hooks directory `.git/hooks`"
    assert label("config") == "`.git/config`"
    assert label("info/attributes") == "`.git/info/attributes`"
    assert label("ref:refs/tags/v1") == "ref `refs/tags/v1`"
    assert label("worktrees/x/config.worktree") == \
        "worktree record `.git/worktrees/x/config.worktree`"
