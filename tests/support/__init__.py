"""Test helpers, shared through ``pytest_plugins`` (fixtures) and plain imports (functions).

Nothing imports ``conftest``: ``tests/conftest.py`` only registers these plugins and marks
each test with its tier.
"""
