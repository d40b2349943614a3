"""The data plane: one task attempt in one git worktree.

Imports nothing of shiftctl's but this package and ``shiftctl.system``; it never opens the
state database and never holds tracker credentials, so it can run on another machine.
"""
