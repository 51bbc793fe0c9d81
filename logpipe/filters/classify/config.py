"""Settings of the ``classify`` filter."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from logpipe.core.plugin import PluginConfig


class BruteForceConfig(BaseModel):
    """Failed logins counted per client over a sliding window (per worker, in memory)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Count failed logins per source.")
    key: str = Field("source.ip", description="Field identifying the source.")
    threshold: int = Field(5, ge=1, description=(
        "Failures within the window that make a brute-force attempt; the event reaching it "
        "and later failures from the same source are tagged `brute_force`."))
    window_seconds: float = Field(60.0, gt=0, description=(
        "Length of the sliding window, in processing time (when the worker sees the events)."))
    max_sources: int = Field(10000, ge=1, description=(
        "Sources remembered at once; the least recently seen are forgotten first."))


def _default_login_paths() -> list[str]:
    return ["/login", "/login/*", "/auth/login*", "/api/auth/login*", "/api/login*",
            "/api/v[0-9]*/auth/login*", "/api/auth/token*", "/oauth/token*", "/token"]


class ClassifyConfig(PluginConfig):
    """Error classes, outcomes and security detections, as ECS fields and tags.

    Writes ``event.outcome`` (success / failure / unknown), ``error.category`` for
    failures (client_error, server_error, timeout, dependency, validation, also
    added as a tag), ``event.category`` (web, authentication,
    intrusion_detection), ``event.kind`` (``alert`` for detections), and
    ``event.severity`` on the 0-100 risk scale of Elastic detection rules: 21
    low (client errors, validation, a failed login), 47 medium (server errors,
    timeouts, dependency failures, scanners), 73 high (SQL injection, XSS, path
    traversal, brute force). Detections are tags: ``security`` plus ``sqli``,
    ``xss``, ``path_traversal``, ``scanner``, ``login_failure``, ``brute_force``.
    """

    status_field: str = Field("http.response.status_code", description="HTTP status code field.")
    level_field: str = Field("log.level", description="Log level field (error/critical mean failure).")
    method_field: str = Field("http.request.method", description="HTTP method field.")
    path_field: str = Field("url.path", description=(
        "Request path (when absent, `url.original` without its query)."))
    action_field: str = Field("event.action", description="Application action (e.g. `login_failed`).")
    user_agent_field: str = Field("user_agent.original", description="Checked against scanner names.")
    error_fields: list[str] = Field(
        default_factory=lambda: ["error.type", "error.message", "error.stack_trace"],
        description="Exception class, message and trace, checked in this order for error classes.")
    scan_fields: list[str] = Field(
        default_factory=lambda: ["url.original", "url.path", "url.query", "message",
                                 "http.request.body.content"],
        description="Fields searched (raw, then URL-decoded up to twice) for attack signatures.")
    category_field: str = Field("error.category", description="Where the error class goes.")
    tag_errors: bool = Field(True, description="Also add the error class as a tag.")
    errors: bool = Field(True, description="Classify errors and outcomes.")
    security: bool = Field(True, description="Detect attacks, scanners and failed logins.")
    login_paths: list[str] = Field(default_factory=_default_login_paths, description=(
        "Globs of login endpoints; a POST to one answered 401/403 is a failed login."))
    login_failure_actions: list[str] = Field(
        default_factory=lambda: ["login_failed", "login_failure", "authentication_failed",
                                 "auth_failed", "user_login_failed"],
        description="`event.action` values that report a failed login.")
    brute_force: BruteForceConfig = Field(default_factory=lambda: BruteForceConfig.model_validate({}),
                                          description="Brute-force detection.")
    signatures_dir: str | None = Field(None, description=(
        "Directory with `sqli.txt`, `xss.txt`, `path_traversal.txt`, `scanner.txt`, "
        "`login_failure.txt`, `error_timeout.txt`, `error_dependency.txt`, "
        "`error_validation.txt`: their lines are added to the built-in lists."))
    extra_signatures: dict[str, list[str]] = Field(default_factory=dict, description=(
        "More regular expressions per list name (same names as the files)."))
    max_scan_length: int = Field(8192, ge=64, description=(
        "Only this many leading characters of each field are searched."))
    cache_size: int = Field(10000, ge=0, description=(
        "Distinct texts whose scan results are remembered (URLs and agents repeat; "
        "messages, which seldom do, are scanned each time)."))
