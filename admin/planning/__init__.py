"""The intake rung: an intent issue becomes a plan (checklist or agent planner), a plan
comment and queued tasks."""
