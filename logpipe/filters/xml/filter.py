"""The xml filter, on lxml with entity expansion and network access turned off
(no XXE, no billion-laughs expansion).

A document that does not parse gets ``tag_on_failure`` and is otherwise left
as it is; the common options apply to the events that parsed.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from logpipe.core.event import Event
from logpipe.core.fieldref import parse
from logpipe.core.plugin import Filter, PluginContext
from logpipe.errors import ConfigError
from logpipe.filters.common import CommonActions
from logpipe.filters.xml.config import XmlConfig
from logpipe.filters.xml.convert import Converter


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True)


def _strip_namespaces(root: etree._Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.rsplit("}", 1)[1]
        for key in list(element.attrib):
            if key.startswith("{"):
                element.attrib[key.rsplit("}", 1)[1]] = element.attrib.pop(key)
    etree.cleanup_namespaces(root)


def _as_text(item: Any) -> str:
    if isinstance(item, etree._Element):
        return etree.tostring(item, encoding="unicode", with_tail=False)
    return str(item)


class XmlFilter(Filter):
    """Parses ``source`` and writes ``target`` and the ``xpath`` fields."""

    Config = XmlConfig
    config: XmlConfig

    def __init__(self, config: XmlConfig, *, id: str,
                 context: PluginContext | None = None) -> None:
        super().__init__(config, id=id, context=context)
        self._source = parse(config.source)
        self._target = parse(config.target) if config.target else None
        self._xpaths: list[tuple[etree.XPath, tuple[str, ...]]] = []
        for expression, field in config.xpath.items():
            try:
                compiled = etree.XPath(expression, namespaces=config.namespaces or None)
            except etree.XPathSyntaxError as exc:
                raise ConfigError(f"bad XPath {expression!r}: {exc}", path="xpath") from None
            self._xpaths.append((compiled, parse(field)))
        self._converter = Converter(force_array=config.force_array,
                                    force_content=config.force_content,
                                    suppress_empty=config.suppress_empty,
                                    remove_namespaces=config.remove_namespaces)
        self._parser = _parser()
        self._actions = CommonActions(config)

    def process(self, events: list[Event]) -> list[Event]:
        done: list[Event] = []
        for event in events:
            text = event.get_path(self._source)
            if not isinstance(text, str):
                continue
            try:
                root = etree.fromstring(text.strip().encode("utf-8"), self._parser)
            except (etree.XMLSyntaxError, ValueError) as exc:
                self.log.debug("xml parse failure: %s", exc)
                event.add_tag(*self.config.tag_on_failure)
                continue
            if root is None:
                event.add_tag(*self.config.tag_on_failure)
                continue
            if self.config.remove_namespaces:
                _strip_namespaces(root)
            try:
                self._xpath(event, root)
            except etree.XPathError as exc:
                self.log.debug("xpath failure: %s", exc)
                event.add_tag(*self.config.tag_on_failure)
                continue
            if self.config.store_xml and self._target is not None:
                value = self._converter.document(root)
                if value is not None:
                    event.set_path(self._target, value if isinstance(value, dict)
                                   else {"content": value})
            done.append(event)
        self._actions.apply(done)
        return events

    def _xpath(self, event: Event, root: etree._Element) -> None:
        for compiled, path in self._xpaths:
            result = compiled(root)
            items = result if isinstance(result, list) else [result]
            values = [_as_text(item) for item in items]
            if not values:
                continue
            current = event.get_path(path)
            if isinstance(current, list):
                current.extend(values)
            elif current is None:
                event.set_path(path, values)
            else:
                event.set_path(path, [current, *values])
