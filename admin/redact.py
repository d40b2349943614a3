"""One redaction step for everything that leaves shiftctl: tracker writes and prompts. Pure.

What counts as a secret:
- the value of every variable of the admin's environment whose *name* looks like a credential
  (KEY, TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL, in any case), the tracker's token variable
  among them whatever its name;
- the values of every profile's ``pass_env`` variables (what agents get from the admin's
  environment), and of the profile ``env`` settings whose name looks like a credential (the
  others are settings written in shiftctl.yaml, which is committed and which agents read: a
  ``CODEX_HOME`` path or a test knob is no secret, and redacting it would only garble text);
- anything that matches the review's secret scan (``SECRET_PATTERNS`` below), a PEM private key
  up to its END line;
- the forms a value takes on its way through git and HTTP: ``x-access-token:VALUE`` in base64
  (git's Basic auth header) and VALUE percent-encoded (in a URL).

Values shorter than ``MIN_SECRET_CHARS`` are ignored: they are settings (``1``, ``true``,
``main``, ``sonnet``), not credentials, and replacing them everywhere would shred ordinary text.

Each becomes ``[redacted]``. A hidden marker that opens a text (the outbox puts one at the start
of every comment and pull request body it writes) is redacted on its own, so that redacting the
marker given to ``find_comment`` gives the very same text and a write is still found, never made
twice.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

from shiftctl.admin.config import Config

# What a credential looks like, whatever variable it came from: review refuses a diff that
# adds one, and redaction blanks one in anything that leaves for the tracker.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("OpenAI/Anthropic key", re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{24,}")),
    ("Slack token", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_LEADING_MARKER = re.compile(r"\A<!-- shiftctl:[^\n]*? -->")


def variants(value: str) -> list[str]:
    """A secret value and the forms git and HTTP carry it in."""
    basic = base64.b64encode(f"x-access-token:{value}".encode()).decode()
    return list(dict.fromkeys([value, basic, quote(value, safe="")]))


def secret_values(config: Config | None, environ: Mapping[str, str]) -> list[str]:
    """The values to redact, from the admin's environment and the configured profiles."""
    names = {name for name in environ if SECRET_NAME.search(name)}
    values: list[str] = []
    if config is not None:
        names.add(config.tracker.github.token_env)
        for prof in config.agents.profiles.values():
            names.update(prof.pass_env)
            values += [v for name, v in prof.env if SECRET_NAME.search(name)]
    values += [environ[n] for n in sorted(names) if n in environ]
    return values


def _whole_block(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """A PEM header's pattern, extended to take the key with it: up to its END line, or to the
    end of the text when the END line is missing (cut off)."""
    if not pattern.pattern.startswith("-----BEGIN"):
        return pattern
    return re.compile(pattern.pattern + r"[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")


PATTERNS = tuple(_whole_block(pattern) for _, pattern in SECRET_PATTERNS)


@dataclass(frozen=True)
class Redactor:
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        """A redactor for these values (and their git/HTTP forms, and the secret patterns)."""
        found = {form for v in values if len(v.strip()) >= MIN_SECRET_CHARS
                 for form in variants(v)}
        return cls(tuple(sorted(found, key=lambda v: (-len(v), v))))

    @classmethod
    def build(cls, config: Config | None, environ: Mapping[str, str]) -> Redactor:
        return cls.of(secret_values(config, environ))

    @cached_property
    def _values_re(self) -> re.Pattern[str] | None:
        """One alternation, longest value first (a value inside a longer one never leaves
        the longer one's rest behind)."""
        return re.compile("|".join(map(re.escape, self.values))) if self.values else None

    def _redact(self, text: str) -> str:
        if self._values_re is not None:
            text = self._values_re.sub(REDACTED, text)
        for pattern in PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[redacted]``."""
        if not text:
            return text
        lead = _LEADING_MARKER.match(text)
        if lead is None:
            return self._redact(text)
        return self._redact(lead.group(0)) + self._redact(text[lead.end():])
