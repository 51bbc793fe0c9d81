"""Settings of the ``file`` input (Logstash's names)."""
from __future__ import annotations

import hashlib
import os
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from logpipe.codecs import CodecSetting, codec_field
from logpipe.codecs.multiline import parse_size
from logpipe.core.plugin import PluginConfig

NO_SINCEDB = ("/dev/null", "NUL")


def _seconds(value: Any) -> Any:
    """Logstash writes intervals as numbers or as ``"1 second"``, ``"15 s"``, ``"2 weeks"``."""
    if isinstance(value, str):
        number, _, unit = value.strip().partition(" ")
        scale = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "ms": 0.001, "m": 60, "min": 60,
                 "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400,
                 "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
        try:
            return float(number) * scale[unit.strip().lower()]
        except (KeyError, ValueError):
            raise ValueError(f"not a duration: {value!r} (e.g. 15, '1 second', '2 weeks')") from None
    return value


class FileInputConfig(PluginConfig):
    path: list[str] = Field(description="Files to read: absolute paths or globs (/var/log/*.log, /logs/**/*.log).")
    exclude: list[str] = Field(default_factory=list, description="File name globs to leave out (*.gz).")
    mode: Literal["tail", "read"] = Field(
        "tail", description="tail: follow files as they grow and rotate; read: read each file to its end.")
    start_position: Literal["beginning", "end"] = Field(
        "end", description="Where a file seen for the first time at start-up is read from "
                           "(files found later are read from their beginning).")
    sincedb_path: str | None = Field(
        None, description="Where read positions are kept (/dev/null: nowhere). Default: "
                          "data/plugins/inputs/file/.sincedb_<hash of path>.")
    sincedb_clean_after: float = Field(14 * 86400, gt=0,
                                       description="Forget positions of files not seen for this long.")
    codec: CodecSetting = codec_field("plain", "How lines become events (multiline to join them).")
    delimiter: str = Field("\n", description="Line separator.")
    stat_interval: float = Field(1.0, gt=0, description="Seconds between checks for new data and rotation.")
    discover_interval: int = Field(15, ge=1, description="New files are looked for every this many stat_intervals.")
    close_older: float = Field(3600, gt=0, description="A file not written for this long is closed (reopened when it grows).")
    ignore_older: float | None = Field(
        None, gt=0, description="Files not modified for this long are left alone (until they change).")
    max_open_files: int = Field(4095, ge=1, description="Files read at once; others wait for a handle to close.")
    sincedb_write_interval: float = Field(
        15.0, gt=0, description="Accepted for Logstash configs: positions are written at every "
                                "acknowledgement, which is always sooner.")
    file_chunk_size: int = Field(256 * 1024, ge=1024, description="Bytes read at once.")
    max_line_bytes: int = Field(1 << 20, ge=64, description="Longer lines are cut and tagged _line_too_long.")
    file_completed_action: Literal["keep", "delete", "log", "log_and_delete"] = Field(
        "keep", description="read mode: what to do with a file once all its events are acknowledged.")
    file_completed_log_path: str | None = Field(None, description="read mode: file that completed paths are appended to.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] = Field(
        "v8", description="v1/v8: [log][file][path] and [host][name]; disabled: path and host.")

    #: Logstash deletes files read in read mode unless told otherwise.
    logstash_defaults = {"file_completed_action": "delete"}

    @field_validator("path", "exclude", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("stat_interval", "close_older", "sincedb_clean_after", "ignore_older",
                     "sincedb_write_interval", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return _seconds(v)

    @field_validator("file_chunk_size", "max_line_bytes", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        return parse_size(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> FileInputConfig:
        for p in self.path:
            if not os.path.isabs(p):
                raise ValueError(f"path entries must be absolute (as in Logstash): {p!r}")
        if self.file_completed_action in ("log", "log_and_delete") and not self.file_completed_log_path:
            raise ValueError(f"file_completed_action: {self.file_completed_action} needs file_completed_log_path")
        return self

    def sincedb_file(self) -> str | None:
        if self.sincedb_path in NO_SINCEDB:
            return None
        if self.sincedb_path:
            return self.sincedb_path
        digest = hashlib.md5("\0".join(sorted(self.path)).encode(), usedforsecurity=False).hexdigest()
        return os.path.join("data", "plugins", "inputs", "file", f".sincedb_{digest}")
