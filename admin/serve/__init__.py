"""``shiftctl serve``: a read-only dashboard (live over server-sent events), ``/metrics`` for
Prometheus and ``/hooks/github`` for signed GitHub webhooks that wake the loop.

The server never writes the state db and never takes the admin lock (docs/design.md §10):
it reads ``state.db`` read-only, touches ``.shiftctl/wake`` and records what it saw as request
files that the next cycle imports as events (``admin/inbox.py``). Nothing here is imported
by a cycle; the web stack loads only inside ``shiftctl serve``.
"""
