"""``logpipe check --compat DIR``: every place in a directory of Logstash configurations
that logpipe refuses, at once, with counts per plugin: a migration report."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from logpipe.config.logstash.ast import Loc
from logpipe.config.logstash.parser import Source, parse_sources
from logpipe.config.logstash.translate import Refusal, translate
from logpipe.errors import ConfigError


@dataclass
class Report:
    files: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def refused_files(self) -> set[str]:
        return {r.loc.file for r in self.refusals}

    def render(self) -> str:
        lines = []
        for r in self.refusals:
            what = f"{r.kind} {r.plugin}" if r.plugin else r.kind
            first, *rest = r.message.splitlines() or [""]
            lines.append(f"{r.loc}: [{what}] {first}")
            lines.extend("    " + line for line in rest)
        counts = Counter((r.kind, r.plugin) for r in self.refusals)
        ok = len(self.files) - len(self.refused_files)
        lines.append("")
        lines.append(f"{len(self.files)} files: {ok} accepted, {len(self.refused_files)} with "
                     f"refusals; {len(self.refusals)} refused places")
        if counts:
            lines.append("refused, by plugin:")
            width = max(len(f"{k} {p}".strip()) for k, p in counts)
            for (kind, plugin), n in counts.most_common():
                lines.append(f"  {f'{kind} {plugin}'.strip():<{width}}  {n}")
        return "\n".join(lines)


def config_files(directory: str) -> list[Path]:
    root = Path(directory)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ConfigError(f"{directory} is not a directory")
    files = sorted(p for p in root.rglob("*.conf") if p.is_file())
    if not files:
        raise ConfigError(f"no .conf files under {directory}")
    return files


def check_directory(directory: str) -> Report:
    """Each ``.conf`` file under ``directory`` checked as its own pipeline."""
    from logpipe.config.loader import build_spec

    report = Report()
    for path in config_files(directory):
        name = str(path)
        report.files.append(name)
        try:
            text = path.read_text(encoding="utf-8")
            config = parse_sources([Source(name, text)])
            out = translate(config, collect=True)
        except ConfigError as err:
            report.refusals.append(_refusal(err, name, "syntax"))
            continue
        if out.refusals:
            report.refusals.extend(out.refusals)
            continue
        try:
            build_spec(out.document, out.where, source=name, name=path.stem)
        except ConfigError as err:
            report.refusals.append(_refusal(err, name, "check"))
    return report


def _refusal(err: ConfigError, name: str, kind: str) -> Refusal:
    loc = Loc(err.file or name, err.line or 1, err.col or 1)
    return Refusal(loc, kind, "", err.message)
