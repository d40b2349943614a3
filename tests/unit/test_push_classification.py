"""A failed push: refused by the remote (counted, parked after five) or an outage (waited out).
The messages are git's own, as it prints them for each case."""
from __future__ import annotations

import pytest

from shiftctl.admin.tracker.github.push import refused


@pytest.mark.parametrize("message", [
    "To http://127.0.0.1:5/x.git\n ! [rejected]        HEAD -> shiftctl/issue-1 (fetch first)",
    "! [rejected] shiftctl/issue-1 -> shiftctl/issue-1 (non-fast-forward)",
    "remote: error: GH006: Protected branch update failed\n ! [remote rejected] x -> x "
    "(protected branch hook declined)",
    "fatal: unable to access 'https://github.com/a/b.git/': The requested URL returned "
    "error: 403",
    "remote: Invalid username or password.\nfatal: Authentication failed for 'https://x/'",
    "fatal: 'origin' does not appear to be a git repository",
    "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote "
    "repository.\nfatal: the remote end hung up unexpectedly",
    "error: RPC failed; HTTP 413 curl 22 The requested URL returned error: 413\n"
    "fatal: the remote end hung up unexpectedly",
    "something git never said before",
])
def test_a_refusal_is_counted(message: str) -> None:
    assert refused(message)


@pytest.mark.parametrize("message", [
    "fatal: unable to access 'http://127.0.0.1:9/x.git/': Failed to connect to 127.0.0.1 "
    "port 9 after 0 ms: Couldn't connect to server",
    "fatal: unable to access 'https://github.com/a/b.git/': Could not resolve host: github.com",
    "fatal: unable to access 'https://x/': The requested URL returned error: 503",
    "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502",
    "fatal: unable to access 'https://x/': Operation timed out after 300000 milliseconds",
    "fatal: the remote end hung up unexpectedly",
])
def test_an_outage_is_waited_out(message: str) -> None:
    assert not refused(message)
