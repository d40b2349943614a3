"""Jinja2 templates for the prompts shiftctl writes: plan, work, review.

``frame/NAME`` is shiftctl's fixed frame of each prompt: the untrusted data, fenced, and the
answer contract. ``NAME`` is the instructions part at its top; a repository may replace it by
putting a file of the same name in the directory named by ``prompts_dir`` in its
``shiftctl.yaml`` (the contract is in the header of ``work.md.j2``).
"""
