"""The ``codec`` setting of inputs and outputs: a name, or a mapping with ``type``.

Written as Logstash writes it, ``codec: json`` or ``codec: {type: multiline,
pattern: "^\\s", what: previous}``. The options are checked against the codec's
own config model while the pipeline loads, so a wrong option is a config error
with its place in the file, not a failure at the first event.
"""
from __future__ import annotations

from typing import Annotated, Any, Iterable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from logpipe.codecs import registry
from logpipe.codecs.base import Codec
from logpipe.errors import ConfigError


class CodecSpec(BaseModel):
    """A codec by name with its options; ``build()`` gives a fresh codec instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> CodecSpec:
        try:
            registry.build(self.type, self.options)
        except ConfigError as exc:   # pydantic reports ValueErrors with the field's place
            raise ValueError(str(exc)) from None
        return self

    @property
    def name(self) -> str:
        """The canonical name (``lines`` reads as ``line``)."""
        return registry.canonical(self.type)

    def build(self) -> Codec:
        return registry.build(self.type, self.options)

    def is_plain(self, *names: str) -> bool:
        """True when this is one of ``names`` with no options (for plugins' fast paths)."""
        return not self.options and self.name in {registry.canonical(n) for n in names}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return not self.options and self.name == registry.canonical(other)
        if isinstance(other, CodecSpec):
            return self.name == other.name and self.options == other.options
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.type if not self.options else f"{self.type} {self.options}"


def coerce(value: Any) -> Any:
    """``"json"`` or ``{"type": "json", ...}`` into the fields of a CodecSpec."""
    if isinstance(value, CodecSpec):
        return value
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict):
        if "type" not in value:
            raise ValueError("a codec mapping needs a 'type' (e.g. {type: multiline, pattern: ...})")
        if set(value) <= {"type", "options"}:
            return value
        rest = {k: v for k, v in value.items() if k != "type"}
        return {"type": value["type"], "options": rest}
    raise ValueError("codec must be a name or a mapping with 'type'")


CodecSetting = Annotated[CodecSpec, BeforeValidator(coerce)]


def spec(value: str | dict[str, Any]) -> CodecSpec:
    return CodecSpec.model_validate(coerce(value))


def codec_field(default: str, description: str = "") -> Any:
    """A ``codec`` field defaulting to ``default`` (a codec name)."""
    return Field(default_factory=lambda: spec(default),
                 description=description or f"How events are turned into bytes or back (default {default}).")


def check_codec(value: CodecSpec, allowed: Iterable[str], where: str) -> CodecSpec:
    """Refuse a codec the plugin cannot use (``allowed`` are names, aliases included)."""
    names = {registry.canonical(n) for n in allowed}
    if value.name not in names:
        raise ValueError(f"{where} supports codec {', '.join(sorted(names))}; got {value.type!r}")
    return value


def logstash_codec_choice(options: dict[str, Any], names: dict[str, str], where: str) -> dict[str, Any]:
    """For plugins whose ``codec`` is one of a few fixed modes: Logstash's codec (a name, or a
    mapping with ``type`` and no options) becomes that mode; any other codec is refused with
    the names this plugin takes, never ignored."""
    if "codec" not in options:
        return dict(options)
    value = options["codec"]
    if isinstance(value, CodecSpec):
        name, extra = value.type, value.options
    elif isinstance(value, dict):
        name, extra = str(value.get("type", "")), {k: v for k, v in value.items() if k != "type"}
    else:
        name, extra = str(value), {}
    if name not in names:
        raise ConfigError(f"{where}: codec {name!r} is not supported here; use one of "
                          f"{', '.join(sorted(names))}")
    if extra:
        raise ConfigError(f"{where}: codec {name} takes no options here (got {', '.join(sorted(extra))})")
    return {**options, "codec": names[name]}
