"""The state store: SQLite, named migrations, the hash-chained event log, and memory
(episodes and lessons). Imports nothing else of shiftctl's."""
