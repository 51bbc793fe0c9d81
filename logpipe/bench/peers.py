"""Peer products of the regex scenario: syslog-ng and rsyslog, found or installed.

Both come from Debian's packages. They are system log daemons that Debian
will not install side by side, so ``scripts/services.sh peers`` installs
their libraries with apt and unpacks the two packages under
``~/.cache/logpipe-services/peers/<package>`` without registering or starting
any service; a system-wide binary is used instead when there is one. The
benchmark starts each with its own configuration, listening on 127.0.0.1 only.

- syslog-ng: a ``regexp-parser`` holding the harness expression;
- rsyslog: ``mmnormalize`` (liblognorm) with a rule for the same line layout,
  the parser rsyslog's documentation recommends for speed, rather than one
  ``re_extract()`` call per field.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import logpipe

PEERS_DIR = Path(os.environ.get("LOGPIPE_SERVICES_CACHE", Path.home() / ".cache" / "logpipe-services")) / "peers"


@dataclass
class Peer:
    name: str
    binary: str
    env: dict[str, str] = field(default_factory=dict)
    #: Extra arguments (module directories of an unpacked package).
    args: list[str] = field(default_factory=list)


def _system(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if Path(p).is_file()), None)
        if found:
            return found
    return None


def syslog_ng() -> Peer | None:
    binary = _system(("syslog-ng",))
    if binary:
        return Peer("syslog-ng", binary)
    root = PEERS_DIR / "syslog-ng-core"
    binary_path = root / "usr/sbin/syslog-ng"
    if not binary_path.is_file():
        return None
    libs = root / "usr/lib/syslog-ng"
    modules = sorted(p for p in libs.iterdir() if p.is_dir() and p.name[:1].isdigit())
    return Peer("syslog-ng", str(binary_path), env={"LD_LIBRARY_PATH": str(libs)},
                args=[f"--module-path={modules[-1]}"] if modules else [])


def rsyslog() -> Peer | None:
    binary = _system(("rsyslogd",))
    if binary:
        return Peer("rsyslog", binary)
    root = PEERS_DIR / "rsyslog"
    binary_path = root / "usr/sbin/rsyslogd"
    if not binary_path.is_file():
        return None
    modules = next(iter(sorted(root.glob("usr/lib/*/rsyslog"))), None)
    return Peer("rsyslog", str(binary_path), args=["-M", str(modules)] if modules else [])


def services_script() -> Path | None:
    """``scripts/services.sh`` of the checkout this package runs from, if any."""
    script = Path(logpipe.__file__).resolve().parent.parent / "scripts" / "services.sh"
    return script if script.is_file() else None


def ensure_installed() -> str | None:
    """Install missing peers with ``scripts/services.sh peers``; None, or why not."""
    if syslog_ng() is not None and rsyslog() is not None:
        return None
    script = services_script()
    if script is None:
        return "peers missing and no scripts/services.sh here (run it from a checkout: scripts/services.sh peers)"
    proc = subprocess.run(["bash", str(script), "peers"], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        return f"scripts/services.sh peers failed: {proc.stderr.strip().splitlines()[-1:]}"
    return None
