"""A stateful fake of GitHub for the GitHub tracker's tests (see ``server``)."""
from __future__ import annotations

from github_fake.server import FakeGitHub, Grant, new_world
from github_fake.state import World

__all__ = ["FakeGitHub", "Grant", "World", "new_world"]
