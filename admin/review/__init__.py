"""The review rung: deterministic rules, then the optional reviewer agent, then the merge into
the issue's integration branch and its pull request."""
