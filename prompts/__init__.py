"""Jinja2 templates for the prompts shiftctl writes: plan, work, review.

A repository may override any of them by putting a file of the same name in the directory
named by ``prompts_dir`` in its ``shiftctl.yaml``.
"""
