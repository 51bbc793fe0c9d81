"""Settings of the ``scrub`` filter (also used by outputs that scrub before writing)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from logpipe.core.plugin import PluginConfig

#: Field names whose values are removed wherever they appear.
DEFAULT_SECRET_FIELDS: tuple[str, ...] = (
    "password", "passwd", "pwd", "secret", "token", "access_token", "refresh_token", "id_token",
    "api_key", "apikey", "authorization", "cookie", "set-cookie", "session", "sessionid",
    "private_key", "client_secret", "aws_secret_access_key",
)

#: Names whose ``name=value`` / ``name: value`` pairs are masked inside free text and
#: query strings. Narrower than the field list: words such as "session" or "cookie"
#: are too common in prose to mask what follows them.
DEFAULT_SECRET_PARAMS: tuple[str, ...] = (
    "password", "passwd", "pwd", "secret", "token", "access_token", "refresh_token", "id_token",
    "auth_token", "api_key", "apikey", "x-api-key", "authorization", "sessionid", "session_id",
    "private_key", "client_secret", "aws_secret_access_key", "secret_access_key", "signature",
)

Kind = Literal["email", "card", "jwt", "bearer", "aws_key", "secret"]
ALL_KINDS: tuple[Kind, ...] = ("email", "card", "jwt", "bearer", "aws_key", "secret")


class TruncateIp(BaseModel):
    """Keep only the network part of addresses (e.g. 81.2.69.142 -> 81.2.69.0)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(default_factory=lambda: ["source.ip", "client.ip"],
                              description="Fields holding an IP address.")
    ipv4_prefix: int = Field(24, ge=0, le=32, description="IPv4 bits kept.")
    ipv6_prefix: int = Field(48, ge=0, le=128, description="IPv6 bits kept.")


class ScrubConfig(PluginConfig):
    """Remove or mask personal data and secrets before any output sees them."""

    fields: list[str] | None = Field(None, description=(
        "Fields to scrub (each with everything nested in it). Default: the whole event."))
    key_env: str = Field("LOGPIPE_SCRUB_KEY", description=(
        "Environment variable holding the key of the e-mail hash (HMAC-SHA256). Every "
        "worker and replica must share it, or the same address hashes differently."))
    allow_random_key: bool = Field(False, description=(
        "When the key variable is unset, use a random key instead of failing start-up. "
        "Hashes then differ between processes and restarts and will not join."))
    secret_fields: list[str] = Field(default_factory=lambda: list(DEFAULT_SECRET_FIELDS),
                                     description=(
        "Field names removed at any depth. Case, `-` and `_` are ignored."))
    secret_field_match: Literal["exact", "suffix"] = Field("suffix", description=(
        "`suffix` also removes names that end in a listed one (`db_password`, `x-api-key`, "
        "`csrf_token`); `exact` removes only the listed names."))
    secret_params: list[str] = Field(default_factory=lambda: list(DEFAULT_SECRET_PARAMS),
                                     description=(
        "Names whose values are masked in `name=value`, `name: value` and query strings "
        "inside text (case-insensitive; `-`/`_` optional)."))
    kinds: list[Kind] = Field(default_factory=lambda: list(ALL_KINDS), description=(
        "What to look for inside text: `email` (hashed), `card` (Luhn-valid 13-19 digits), "
        "`jwt`, `bearer`, `aws_key` (AKIA/ASIA ids), `secret` (the `secret_params` pairs)."))
    truncate_ip: TruncateIp | None = Field(None, description=(
        "Truncate client addresses to their network (off by default)."))
    report_field: str | None = Field("[event][scrubbed]", description=(
        "Where counts of what was done go, per kind (`{\"email\": 2, \"field\": 1}`); never "
        "values. Unset to write nothing."))
