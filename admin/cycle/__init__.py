"""The cycle core: one admin cycle takes the lock, looks (``snapshot``), decides on the first
rung of the ``ladder`` that has work, carries it out (``executor``), records it and exits.
``loop`` and ``nap`` are the foreground loop and the sleep between cycles."""
