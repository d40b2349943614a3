"""What shiftctl's git may see and run, as plain data and pure functions; ``shiftctl.system.git``
applies it to every command (see its docstring for why each piece is there)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

NO_HOOKS = "/dev/null"

# What every git command we run may see of our environment; never a secret.
ENV_ALLOWLIST = ("PATH", "HOME", "LANG", "TZ", "TMPDIR", "XDG_CONFIG_HOME",
                 "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_GLOBAL")
# ... and what a push (the one command that talks to a remote) may see besides.
NETWORK_ALLOWLIST = ("SSH_AUTH_SOCK", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                     "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "GIT_SSL_CAINFO",
                     "GIT_SSL_CAPATH", "SSL_CERT_FILE", "SSL_CERT_DIR")
FIXED_ENV = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "",          # no transport at all (a push sets its own list)
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",     # an agent's refs/replace/ never changes what we see
    "GIT_TRACE2": "0", "GIT_TRACE2_EVENT": "0", "GIT_TRACE2_PERF": "0",  # beat trace2.* config
    "GIT_SSH_COMMAND": "ssh",          # beats core.sshCommand
    "GIT_EDITOR": ":", "GIT_SEQUENCE_EDITOR": ":", "GIT_PAGER": "cat",
    "GIT_ASKPASS": "",                 # set (if empty): core.askPass is never consulted
}
PUSH_PROTOCOLS = ("https", "http", "ssh", "file")
# Keys with a single, fixed name that can run a program, and harmless values for them.
FIXED_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", NO_HOOKS),
    ("core.fsmonitor", "false"),
    ("core.sshCommand", "ssh"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("core.gitProxy", ""),
    ("core.alternateRefsCommand", ""),
    ("uploadpack.packObjectsHook", ""),
    ("diff.external", ""),
    ("gpg.program", ""),
    ("gpg.openpgp.program", ""),
    ("gpg.x509.program", ""),
    ("gpg.ssh.program", ""),
    ("gpg.ssh.defaultKeyCommand", ""),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("push.gpgSign", "false"),
    ("merge.verifySignatures", "false"),
    ("log.showSignature", "false"),
    ("submodule.recurse", "false"),
    # not a program, but shiftctl must never write the repository's config itself: runs in
    # flight watch it for tampering (``git branch X main`` would record tracking with this)
    ("branch.autoSetupMerge", "false"),
)
# Last: an empty helper empties the list of helpers gathered so far, from every scope.
LAST_OVERRIDES: tuple[tuple[str, str], ...] = (("credential.helper", ""),)
# A merge driver's replacement: git's own three-way text merge, which is what git does for a
# file whose ``merge`` attribute names no configured driver.
MERGE_FILE = "git merge-file -L ours -L base -L theirs --marker-size=%L %A %O %B"
PATCH_COMMANDS = ("diff", "log", "show")
PATCH_FLAGS = ("--no-textconv", "--no-ext-diff")


def neutralise(keys: Iterable[str]) -> list[tuple[str, str]]:
    """Overrides for the named program-running keys among ``keys`` (config key names as
    ``git config --list`` prints them: section and leaf lower-case, subsection as written).

    Every driver a key names gets all of its program keys overridden, not only the one
    seen: ``filter.x.clean`` found means ``smudge`` and ``process`` are emptied too.
    """
    out: dict[str, str] = {}
    for key in keys:
        section, _, rest = key.partition(".")
        sub, _, leaf = rest.rpartition(".")
        section, leaf = section.lower(), leaf.lower()
        if section == "pager" and not sub:
            out[f"pager.{leaf}"] = "false"
        if not sub:
            continue  # single-named keys: FIXED_OVERRIDES
        if section == "filter":
            out |= {f"filter.{sub}.clean": "", f"filter.{sub}.smudge": "",
                    f"filter.{sub}.process": "", f"filter.{sub}.required": "false"}
        elif section == "diff" and leaf in ("textconv", "command"):
            out |= {f"diff.{sub}.textconv": "", f"diff.{sub}.command": ""}
        elif section == "merge" and leaf == "driver":
            out[f"merge.{sub}.driver"] = MERGE_FILE
        elif section == "credential" and leaf == "helper":
            out[f"credential.{sub}.helper"] = ""
        elif section == "gpg" and leaf == "program":
            out[f"gpg.{sub}.program"] = ""
        elif section == "remote" and leaf in ("uploadpack", "receivepack"):
            out |= {f"remote.{sub}.uploadpack": "git-upload-pack",
                    f"remote.{sub}.receivepack": "git-receive-pack"}
    return sorted(out.items())


@dataclass(frozen=True)
class ConfigEntry:
    scope: str
    origin: str
    key: str
    value: str | None


def parse_config_list(raw: str) -> list[ConfigEntry]:
    """``git config --list -z --show-scope --show-origin``: scope NUL origin NUL key LF value
    NUL, the LF and value absent for a key given without ``=``."""
    fields = raw.split("\0")
    out = []
    for i in range(0, len(fields) - 2, 3):
        key, nl, value = fields[i + 2].partition("\n")
        out.append(ConfigEntry(fields[i], fields[i + 1], key, value if nl else None))
    return out


def include_targets(entries: Iterable[ConfigEntry], cwd: Path, home: str) -> list[Path]:
    """The files ``include.path`` and ``includeIf.<cond>.path`` name, resolved as git does
    (``~/``, relative to the including file): whether they exist now or not, a change to
    them must invalidate what was discovered."""
    out = []
    for e in entries:
        section, _, rest = e.key.partition(".")
        if section.lower() not in ("include", "includeif") or not rest.lower().endswith("path") \
                or not e.value:
            continue
        path = Path(home) / e.value[2:] if e.value.startswith("~/") else Path(e.value)
        if not path.is_absolute():
            origin = Path(e.origin.removeprefix("file:"))
            path = (cwd / origin).parent / path
        out.append(path)
    return out


def hardened_args(args: Sequence[str]) -> list[str]:
    """``--no-textconv --no-ext-diff`` after a patch-rendering subcommand."""
    argv = list(args)
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("-c", "-C") else 1
    if i < len(argv) and argv[i] in PATCH_COMMANDS:
        argv[i + 1:i + 1] = PATCH_FLAGS
    return argv
