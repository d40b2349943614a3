"""The data plane: one task attempt in one git worktree.

Imports nothing of shiftctl's outside this package; it never opens the state database and
never holds tracker credentials, so it can later run on another machine.
"""
