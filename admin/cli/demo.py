"""``shiftctl demo``: the whole loop on a throwaway repository, offline, in under a minute.

It builds a tiny Python package whose unit tests are the configured check, files two issues
whose checklist items run with the offline ``shell`` agent, and runs the loop until idle:
one issue ends as a ready pull request, the other needs a human (its task keeps failing the
check; the task after it is cancelled).
"""
from __future__ import annotations

import shlex
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from shiftctl.admin import config as config_mod
from shiftctl.admin.cli.invocation import how_to_call
from shiftctl.admin.cycle.loop import run_loop
from shiftctl.admin.cycle.main import CycleResult
from shiftctl.admin.paths import Paths
from shiftctl.admin.tracker.local import LocalTracker
from shiftctl.system import git

PACKAGE = {
    "demo_pkg/__init__.py": "",
    "demo_pkg/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/__init__.py": "",
    "tests/test_calc.py": textwrap.dedent("""\
        import unittest

        from demo_pkg.calc import add


        class AddTest(unittest.TestCase):
            def test_add(self):
                self.assertEqual(add(2, 3), 5)
        """),
    "README.md": "# demo\n\nA tiny package that shiftctl's agents work on.\n",
}

SLUGIFY = '''\
Add a `slugify` helper and its tests.

- [ ] Add slugify() to demo_pkg/text.py
  paths: demo_pkg/text.py
  ```sh
  cat > demo_pkg/text.py <<'EOF'
  import re


  def slugify(text):
      return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
  EOF
  ```
- [ ] Test slugify
  paths: tests/test_text.py
  done when: the unit tests pass
  ```sh
  cat > tests/test_text.py <<'EOF'
  import unittest

  from demo_pkg.text import slugify


  class SlugifyTest(unittest.TestCase):
      def test_slugify(self):
          self.assertEqual(slugify("Hello, World!"), "hello-world")
  EOF
  ```
- [ ] (parallel) Document the package in the README
  paths: README.md
  ```sh
  printf '\\n## Usage\\n\\n    from demo_pkg.calc import add\\n' >> README.md
  ```
'''

BROKEN = '''\
Make add() "faster". Its second step depends on the first.

- [ ] Rewrite add()
  paths: demo_pkg/calc.py
  ```sh
  printf 'def add(a, b):\\n    return a - b  # oops\\n' > demo_pkg/calc.py
  ```
- [ ] Benchmark add()
  ```sh
  echo "add is fast" > BENCHMARK.md
  ```
'''


def _git(repo: Path, *args: str) -> None:
    git.run(repo, *args)


def build_repo(root: Path) -> Path:
    repo = root / "demo-repo"
    repo.mkdir(parents=True)
    for name, text in PACKAGE.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Demo User")
    _git(repo, "config", "user.email", "demo@example.invalid")
    check = f"{shlex.quote(sys.executable)} -m unittest discover -s tests -t . -q"
    (repo / "shiftctl.yaml").write_text(textwrap.dedent(f"""\
        # shiftctl demo: local tracker, local git, the offline shell agent
        base_branch: main
        tracker: {{kind: local, intake_label: shiftctl, allowed_authors: [demo]}}
        agents: {{default: shell}}
        checks: [{{name: unittests, run: "{check}", timeout: 120}}]
        workers: {{max_concurrent: 4, max_attempts: 2, backoff_base: 1, backoff_cap: 2,
                   task_timeout: 120, stall_timeout: 60}}
        sleep: {{after_action: 0, busy: 5, idle: 60, wake_check: 1}}
        sandbox: auto   # bwrap where bubblewrap works; 'shiftctl doctor' says which
        """))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "demo package")
    return repo


def run_demo(workdir: Path | None = None, echo: Callable[[str], None] = print) -> Path:
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="shiftctl-demo-"))
    repo = build_repo(root)
    echo(f"Demo repository: {repo}")
    tracker = LocalTracker(Paths(repo).ensure_tracker(), repo, ["demo"])
    for title, body in (("Add a slugify helper", SLUGIFY), ("Make add() faster", BROKEN)):
        issue = tracker.new_issue(title, body, ["shiftctl"], "demo")
        echo(f"Filed issue #{issue.number}: {title}")
    tracker.new_issue("Ignore me: not labelled", "- [ ] rm -rf /", [], "demo")
    tracker.new_issue("Not from an allowed author", "- [ ] anything", ["shiftctl"], "mallory")
    echo("Filed two more issues that shiftctl must ignore (no label; author not allowed).")
    tracker.close()

    def show(r: CycleResult) -> None:
        if r.rung != "sleep":
            echo(f"  cycle {r.cycle:>3} {r.rung:<11} " + "; ".join(r.actions)[:150])

    echo("Running the loop until nothing can move without a human...")
    run_loop(repo, until_idle=True, on_cycle=show, max_seconds=300)
    return repo


def summary(repo: Path) -> str:
    from shiftctl.admin.cli.status import collect_status, render
    cfg = config_mod.load(repo)
    status = collect_status(cfg)
    tracker = LocalTracker(Paths(repo).ensure_tracker(), repo)
    prs = tracker.list_prs()
    tracker.close()
    lines = ["", render(status), "", "Pull requests:"]
    for pr in prs:
        lines.append(f"  #{pr.number} {pr.state}{' (draft)' if pr.draft else ''} "
                     f"{pr.head} -> {pr.base}: {pr.title}")
    me = how_to_call()
    lines += ["", "Where to look:",
              f"  cd {repo}",
              f"  {me} status             # issues, tasks, workers, costs",
              f"  {me} issue show 2       # the plan and status comments",
              f"  {me} events             # every decision, hash-chained",
              f"  {me} pr merge N         # you merge; shiftctl never does",
              f"  ls {repo}/.shiftctl/runs/   # spec, prompt, agent log, result of every run"]
    return "\n".join(lines)
