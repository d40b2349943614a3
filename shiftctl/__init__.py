"""shiftctl: hand work to AI coding agents through your issue tracker, safely.

One import package. The folders at the top of the source tree are installed beneath it:
``admin/`` as ``shiftctl.admin`` (the control plane), ``worker/`` as ``shiftctl.worker`` (one
task attempt), ``memory/`` as ``shiftctl.memory`` (the state store) and ``prompts/`` as
``shiftctl.prompts`` (the templates). See docs/design.md.
"""
