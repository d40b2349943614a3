"""The command line: a thin click layer (``main``) over library functions, and the commands
that are about the machine rather than the cycle (init, doctor, status, demo, supervise)."""
