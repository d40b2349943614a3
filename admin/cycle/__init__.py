"""The cycle core: one admin cycle takes the lock, looks (``snapshot``), decides on the first
rung of the ``ladder`` that has work, carries it out (``executor``), records it and exits.
``loop`` and ``nap`` are the foreground loop and the sleep between cycles."""

# What a loop may say came before a cycle (``shiftctl cycle --woke``): its nap's answer
# (``admin/cycle/nap.py``), ``followup`` (no nap: more work at once) or ``start``. Here, so the
# command line can offer the choices without importing the cycle.
LOOP_SAID = ("start", "followup", "time", "wake", "critical", "unhealthy")
