"""An XML element as plain data, following the shape Logstash's xml filter writes
(the XmlSimple conventions): attributes and children by name, text under
``content`` when the element also has attributes or children, one list per
child name with ``force_array``. Namespace prefixes are kept (``h:div``) and an
element's own namespace declarations read as attributes (``xmlns:h``), as
XmlSimple reports them. Whitespace-only text is ignored.
"""
from __future__ import annotations

from typing import Any

from lxml import etree


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


class Converter:
    def __init__(self, *, force_array: bool, force_content: bool,
                 suppress_empty: bool) -> None:
        self.force_array = force_array
        self.force_content = force_content
        self.suppress_empty = suppress_empty

    def _name(self, tag: str, element: etree._Element) -> str:
        if tag.startswith("{"):
            uri, _, name = tag[1:].partition("}")
            prefix = next((p for p, u in element.nsmap.items() if u == uri and p), None)
            return f"{prefix}:{name}" if prefix else name
        return tag

    def _text(self, element: etree._Element) -> str:
        parts = [element.text or ""] + [child.tail or "" for child in element]
        text = "".join(parts)
        return text if text.strip() else ""

    def convert(self, element: etree._Element) -> Any:
        """The value of one element: text, an object, or None when empty."""
        out: dict[str, Any] = {}
        parent = element.getparent()
        inherited = parent.nsmap if parent is not None else {}
        for prefix, uri in element.nsmap.items():
            if inherited.get(prefix) != uri:
                out[f"xmlns:{prefix}" if prefix else "xmlns"] = uri
        for key, value in element.attrib.items():
            out[self._name(str(key), element)] = value
        for child in element:
            if not isinstance(child.tag, str):   # comments, processing instructions
                continue
            value = self.convert(child)
            if value is None:
                if self.suppress_empty:
                    continue
                value = {}
            name = self._name(child.tag, child)
            if name in out:   # element values are never lists, so a list is ours
                existing = out[name]
                if isinstance(existing, list):
                    existing.append(value)
                else:
                    out[name] = [existing, value]
            else:
                out[name] = [value] if self.force_array else value
        text = self._text(element)
        if not out:
            if not text:
                return None
            return {"content": text} if self.force_content else text
        if text:
            out["content"] = text
        return out

    def document(self, root: etree._Element) -> Any:
        return self.convert(root)
