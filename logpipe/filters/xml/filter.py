"""The xml filter, on lxml with entity expansion, DTD loading and network access off
(no XXE, no billion-laughs expansion).

As in Logstash, XPath runs on a document parsed leniently (what a broken document
still holds is found; ``parse_options => "strict"`` refuses it), and ``store_xml``
needs well-formed XML: a document that does not parse gets ``tag_on_failure``.
The common options apply when XPath found something or the document was stored.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

from logpipe.core.event import Event
from logpipe.core.fieldref import Path, parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions
from logpipe.filters.xml.config import XmlConfig, parse_option_names
from logpipe.filters.xml.convert import Converter

_MISSING: Any = object()


def _parser(*, recover: bool, remove_blank_text: bool = False) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True, recover=recover,
                           remove_blank_text=remove_blank_text)


def _strip_namespaces(root: etree._Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.rsplit("}", 1)[1]
        for key in list(element.attrib):
            if key.startswith("{"):
                element.attrib[key.rsplit("}", 1)[1]] = element.attrib.pop(key)
    etree.cleanup_namespaces(root)


def _inherited_declarations(element: etree._Element) -> set[str]:
    parent = element.getparent()
    if parent is None:
        return set()
    return {f"xmlns:{p}" if p else "xmlns" for p, u in element.nsmap.items()
            if parent.nsmap.get(p) == u}


def _as_text(item: Any) -> str:
    """An XPath result as Logstash writes it."""
    if isinstance(item, etree._Element):
        text = etree.tostring(item, encoding="unicode", with_tail=False)
        inherited = _inherited_declarations(item)
        if inherited:   # declared on an ancestor: not repeated, as libxml2's node dump does
            head, rest = text.split(">", 1) if ">" in text else (text, "")
            for name in inherited:
                head = re.sub(rf'\s{re.escape(name)}="[^"]*"', "", head)
            text = head + ">" + rest if rest or text.endswith(">") else head
        return text
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


class XmlFilter(Filter):
    """Parses ``source`` and writes ``target`` and the ``xpath`` fields."""

    Config = XmlConfig
    runs_on_event_loop = True
    config: XmlConfig

    def __init__(self, config: XmlConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source = parse(config.source)
        self._target = parse(config.target) if config.target else None
        self._xpaths: list[tuple[str, Path]] = []
        for expression, field in config.xpath.items():
            try:
                etree.XPath(expression, namespaces=config.namespaces or None)
            except etree.XPathSyntaxError as exc:
                raise ConfigError(f"bad XPath {expression!r}: {exc}", path="xpath") from None
            self._xpaths.append((expression, parse(field)))
        options = parse_option_names(config.parse_options)
        self._xpath_parser = _parser(recover="strict" not in options,
                                     remove_blank_text="noblanks" in options)
        self._strict_parser = _parser(recover=False)
        self._converter = Converter(force_array=config.force_array,
                                    force_content=config.force_content,
                                    suppress_empty=config.suppress_empty)
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        tag = self.config.tag_on_failure
        for event in events:
            value = event.get_path(self._source)
            if value is None:
                continue
            if isinstance(value, list):
                if len(value) != 1:
                    event.add_tag(*tag)
                    continue
                value = value[0]
            if not isinstance(value, str):
                event.add_tag(*tag)
                continue
            if not value.strip():
                continue
            raw = value.strip().encode("utf-8")
            matched = False
            if self._xpaths:
                found = self._run_xpaths(event, raw)
                if found is None:
                    event.add_tag(*tag)
                    continue
                matched = found
            if self.config.store_xml and self._target is not None:
                try:
                    root = etree.fromstring(raw, self._strict_parser)
                except (etree.XMLSyntaxError, ValueError) as exc:
                    self.log.debug("xml parse failure: %s", exc)
                    event.add_tag(*tag)
                    continue
                stored = self._converter.document(root)
                event.set_path(self._target, stored if isinstance(stored, dict)
                               else {} if stored is None else {"content": stored})
                matched = True
            if matched:
                done.append(event)
        self._actions.apply(done)
        return events

    def _run_xpaths(self, event: Event, raw: bytes) -> bool | None:
        """Write the XPath results; None when the document cannot be read at all."""
        try:
            root = etree.fromstring(raw, self._xpath_parser)
        except (etree.XMLSyntaxError, ValueError) as exc:
            self.log.debug("xml parse failure: %s", exc)
            return None
        if root is None:
            return None
        if self.config.remove_namespaces:
            _strip_namespaces(root)
        namespaces = {p: u for p, u in root.nsmap.items() if p}
        namespaces.update(self.config.namespaces)
        matched = False
        for expression, path in self._xpaths:
            try:
                result = root.xpath(expression, namespaces=namespaces)
            except etree.XPathError as exc:
                self.log.debug("xpath %s failed: %s", expression, exc)
                continue
            items = result if isinstance(result, list) else [result]
            values = [_as_text(item) for item in items]
            if not values:
                continue
            matched = True
            if len(values) == 1 and not self.config.force_array:
                event.set_path(path, values[0])
            else:
                event.set_path(path, values)
        return matched
