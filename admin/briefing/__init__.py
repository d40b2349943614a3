"""What agents are told and what is remembered for them: prompt rendering, the worker's
brief, recall of conventions, lessons and episodes, and memory's side of each run."""
from __future__ import annotations


class PromptError(Exception):
    """A prompt template could not be rendered; the message names the template and says why.

    Defined here, not in ``prompts``, so that the executor can recognise it without loading
    Jinja in a cycle that renders nothing."""
