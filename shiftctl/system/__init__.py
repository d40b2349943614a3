"""What both planes ask of the operating system: git, files, processes, environments and the
bwrap sandbox.

The admin and the worker may both import this package; it imports nothing else of
shiftctl's. Everything here runs next to untrusted agent output, so its helpers are the
hardened way to do each thing (see docs/design.md, "The trust boundary").
"""
