"""The YAML pipeline equivalent to a translated ``.conf``, comments kept.

A comment that sits on its own line in the ``.conf`` is written above the YAML
entry that follows it (a plugin, a branch or a plugin's option); comments at
the end of a line are dropped, as YAML has no place that keeps their meaning.
"""
from __future__ import annotations

import bisect
from typing import Any

import yaml

from logpipe.config.logstash.ast import Comment, Config
from logpipe.config.logstash.translate import Path, Translation

_HEADER = "# Converted from Logstash configuration by `logpipe convert`."


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    text = text.rstrip("\n")
    if text.endswith("\n..."):
        text = text[:-4]
    return text.rstrip("\n")


def _simple(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value


class _Emitter:
    def __init__(self, translation: Translation, comments: list[Comment], header_end: int) -> None:
        self.attached: dict[Path, list[str]] = {}
        self.trailing: list[str] = []
        #: Comments above the first section: the file's own header.
        self.header: list[str] = []
        anchors = translation.anchors
        offsets = [a[0] for a in anchors]
        for comment in comments:
            if not comment.own_line:
                continue
            i = bisect.bisect_right(offsets, comment.offset)
            text = "#" + comment.text
            if comment.offset < header_end:
                self.header.append(text)
            elif i < len(anchors):
                self.attached.setdefault(anchors[i][1], []).append(text)
            else:
                self.trailing.append(text)

    def comments(self, path: Path, indent: int) -> list[str]:
        return [" " * indent + c for c in self.attached.pop(path, [])]

    def mapping(self, node: dict[str, Any], path: Path, indent: int) -> list[str]:
        out: list[str] = []
        pad = " " * indent
        for key, value in node.items():
            sub = path + (key,)
            out.extend(self.comments(sub, indent))
            if _simple(value):
                out.append(f"{pad}{_scalar(key)}: {_scalar(value)}")
            elif isinstance(value, dict):
                out.append(f"{pad}{_scalar(key)}:")
                out.extend(self.mapping(value, sub, indent + 2))
            else:
                out.append(f"{pad}{_scalar(key)}:")
                out.extend(self.sequence(value, sub, indent + 2))
        return out

    def sequence(self, node: list[Any], path: Path, indent: int) -> list[str]:
        out: list[str] = []
        pad = " " * indent
        for index, item in enumerate(node):
            sub = path + (index,)
            out.extend(self.comments(sub, indent))
            if _simple(item):
                out.append(f"{pad}- {_scalar(item)}")
                continue
            lines = self.mapping(item, sub, indent + 2) if isinstance(item, dict) \
                else self.sequence(item, sub, indent + 2)
            for n, line in enumerate(lines):
                if not line.lstrip().startswith("#"):
                    lines[n] = pad + "- " + line[indent + 2:]
                    break
            out.extend(lines)
        return out

    def document(self, doc: dict[str, Any]) -> str:
        lines = [_HEADER]
        if self.header:
            lines.extend(["", *self.header])
        for key, value in doc.items():
            if not value and key != "outputs" and key != "inputs":
                continue
            lines.append("")
            lines.extend(self.comments((key,), 0))
            if _simple(value):
                lines.append(f"{key}: {_scalar(value)}")
            elif isinstance(value, dict):
                lines.append(f"{key}:")
                lines.extend(self.mapping(value, (key,), 2))
            else:
                lines.append(f"{key}:")
                lines.extend(self.sequence(value, (key,), 2))
        leftover = [c for cs in self.attached.values() for c in cs] + self.trailing
        if leftover:
            lines.append("")
            lines.extend(leftover)
        return "\n".join(lines) + "\n"


def to_yaml(translation: Translation, config: Config) -> str:
    header_end = config.sections[0].start if config.sections else 1 << 62
    return _Emitter(translation, config.comments, header_end).document(translation.document)
