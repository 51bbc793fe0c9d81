"""Error classification and security detection: attacks fire, near-misses do not."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logpipe.core.event import Event
from logpipe.errors import ConfigError
from logpipe.filters.classify import ClassifyFilter


def make(clock: Any = None, **settings: Any) -> ClassifyFilter:
    kwargs = {"clock": clock} if clock is not None else {}
    return ClassifyFilter(ClassifyFilter.Config(**settings), id="cls", **kwargs)


def event(**fields: Any) -> Event:
    out = Event({})
    for key, value in fields.items():
        out.set(key.replace("__", "."), value)
    return out


@pytest.fixture(scope="module")
def cls() -> ClassifyFilter:
    return make()


def one(f: ClassifyFilter, ev: Event) -> Event:
    [out] = f.process([ev])
    return out


# --- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("fields, outcome, category", [
    ({"http__response__status_code": 200}, "success", None),
    ({"http__response__status_code": "302"}, "success", None),
    ({"http__response__status_code": 404}, "failure", "client_error"),
    ({"http__response__status_code": "401"}, "failure", "client_error"),
    ({"http__response__status_code": 500}, "failure", "server_error"),
    ({"http__response__status_code": 503}, "failure", "server_error"),
    ({"http__response__status_code": 408}, "failure", "timeout"),
    ({"http__response__status_code": 504}, "failure", "timeout"),
    ({"http__response__status_code": 422}, "failure", "validation"),
    ({"http__response__status_code": 504, "error__type": "ConnectionError"}, "failure", "timeout"),
    ({"http__response__status_code": 500, "error__type": "neo4j.exceptions.ServiceUnavailable"},
     "failure", "dependency"),
    ({"http__response__status_code": 500, "error__type": "redis.exceptions.ConnectionError"},
     "failure", "dependency"),
    ({"http__response__status_code": 400, "error__type": "pydantic_core.ValidationError"},
     "failure", "validation"),
    ({"http__response__status_code": 400, "error__type": "RequestValidationError"}, "failure", "validation"),
    ({"log__level": "ERROR", "error__type": "TimeoutError"}, "failure", "timeout"),
    ({"log__level": "error", "error__type": "httpx.ReadTimeout"}, "failure", "timeout"),
    ({"log__level": "error", "error__message": "asyncio.TimeoutError while awaiting"}, "failure", "timeout"),
    ({"log__level": "CRITICAL", "error__type": "ConnectionRefusedError"}, "failure", "dependency"),
    ({"log__level": "error", "error__type": "sqlalchemy.exc.OperationalError"}, "failure", "dependency"),
    ({"log__level": "error", "error__type": "ValueError"}, "failure", "validation"),
    ({"error__stack_trace": "Traceback ...\nredis.exceptions.ConnectionError: Error 111"},
     "failure", "dependency"),
    ({"error__type": "KeyError"}, "failure", None),      # a failure, but of no known class
    ({"log__level": "error", "message": "something broke"}, "failure", None),
    ({"log__level": "info", "message": "started"}, "unknown", None),
    ({"log__level": "warning"}, "unknown", None),
])
def test_error_classes_and_outcomes(cls: ClassifyFilter, fields: dict[str, Any], outcome: str,
                                    category: str | None) -> None:
    out = one(cls, event(**fields))
    assert out.get("event.outcome") == outcome
    assert out.get("error.category") == category
    if category is not None:
        assert category in out.tags
        assert out.get("event.severity") in (21, 47)


def test_error_type_outranks_message(cls: ClassifyFilter) -> None:
    out = one(cls, event(log__level="error", error__type="neo4j.exceptions.ServiceUnavailable",
                         error__message="Timed out trying to establish connection"))
    assert out.get("error.category") == "dependency"


def test_existing_outcome_is_kept_unless_failure(cls: ClassifyFilter) -> None:
    assert one(cls, event(event__outcome="failure", log__level="info")).get("event.outcome") == "failure"
    assert one(cls, event(event__outcome="success", http__response__status_code=500)) \
        .get("event.outcome") == "failure"


def test_errors_can_be_switched_off() -> None:
    out = one(make(errors=False), event(http__response__status_code=500))
    assert out.get("error.category") is None and out.get("event.outcome") is None


# --- attacks -----------------------------------------------------------------------------
ATTACKS = [
    ("sqli", {"url__original": "/api/items?id=1' OR 1=1 --"}),
    ("sqli", {"url__original": "/api/items?id=1%27%20OR%201%3D1%20--"}),
    ("sqli", {"url__original": "/api/items?id=1%2527%2520OR%2520%25271%2527%253D%25271"}),  # double
    ("sqli", {"url__query": "name=admin'--"}),
    ("sqli", {"url__query": "name=x' or 'a'='a"}),
    ("sqli", {"url__original": "/api/items?id=1 UNION SELECT username, password FROM users"}),
    ("sqli", {"url__original": "/api/items?id=1+union+all+select+null,null--"}),
    ("sqli", {"url__original": "/api/items?id=1/**/UNION/**/SELECT/**/1"}),
    ("sqli", {"url__original": "/api/items?id=1; DROP TABLE users"}),
    ("sqli", {"url__query": "id=1 AND SLEEP(5)"}),
    ("sqli", {"url__query": "id=1';waitfor delay '0:0:5'--"}),
    ("sqli", {"url__query": "q=1 and extractvalue(1,concat(0x7e,version()))"}),
    ("sqli", {"http__request__body__content": '{"q": "x\' UNION SELECT table_name FROM information_schema.tables"}'}),
    ("sqli", {"message": "GET /search?id=-1 or 2=2"}),
    ("xss", {"url__original": "/search?q=<script>alert(1)</script>"}),
    ("xss", {"url__original": "/search?q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"}),
    ("xss", {"url__original": "/search?q=%253Cscript%253E"}),
    ("xss", {"url__query": "q=\"><img src=x onerror=alert(1)>"}),
    ("xss", {"url__query": "q=<svg/onload=alert(1)>"}),
    ("xss", {"url__query": "next=javascript:alert(document.domain)"}),
    ("xss", {"http__request__body__content": "comment=<iframe src=//evil.example>"}),
    ("path_traversal", {"url__original": "/static/../../etc/passwd"}),
    ("path_traversal", {"url__original": "/download?file=..%2F..%2F..%2Fetc%2Fshadow"}),
    ("path_traversal", {"url__original": "/download?file=%252e%252e%252f%252e%252e%252fboot.ini"}),
    ("path_traversal", {"url__path": "/files/..\\..\\windows\\win.ini"}),
    ("path_traversal", {"url__original": "/view?page=../etc/passwd"}),
    ("path_traversal", {"url__original": "/img?f=photo.png%00.php"}),
    ("path_traversal", {"url__original": "/app/..;/manager/html"}),
    ("path_traversal", {"url__query": "page=php://filter/convert.base64-encode/resource=index"}),
]


@pytest.mark.parametrize("kind, fields", ATTACKS)
def test_attacks_are_detected(cls: ClassifyFilter, kind: str, fields: dict[str, Any]) -> None:
    out = one(cls, event(**fields))
    assert kind in out.tags and "security" in out.tags
    assert "intrusion_detection" in out.get("event.category")
    assert out.get("event.kind") == "alert"
    assert out.get("event.severity") == 73


NEAR_MISSES = [
    {"url__original": "/api/search?q=select+a+theme"},
    {"url__original": "/api/search?q=select%20the%20best%20option%20from%20the%20list"},
    {"url__original": "/products/selection"},
    {"url__original": "/api/search?q=union+station+tickets"},
    {"url__original": "/api/search?q=drop+shipping;+table+lamps"},
    {"url__original": "/api/search?q=rock+'n'+roll+or+jazz"},
    {"url__original": "/api/search?q=O'Brien"},
    {"url__original": "/api/search?q=tom+and+jerry"},
    {"url__original": "/api/items?page=2&sort=updated&order=desc"},
    {"url__original": "/api/search?q=1%3D1"},
    {"url__original": "/blog/how-to-sleep-better"},
    {"url__original": "/api/search?q=script+writing+tips"},
    {"url__original": "/api/search?q=javascript+tutorial"},
    {"url__original": "/api/search?q=a<b"},
    {"url__original": "/api/events?onload=1&onerror=retry"},
    {"url__original": "/static/js/app.min.js"},
    {"url__original": "/docs/v1..v2/compare"},
    {"url__original": "/api/memories/123/../456"},
    {"url__original": "/api/search?q=100%25+cotton"},
    {"url__original": "/api/search?q=c%2B%2B+tutorial"},
    {"message": "loading config from ../config/settings.yaml"},
    {"message": "await asyncio.sleep(1) returned"},
    {"message": "user selected 3 items from the catalog"},
    {"message": "INSERT INTO memories (id, body) VALUES ($1, $2)"},
    {"url__original": "/api/auth/passwd-reset"},
    {"user_agent__original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"},
]


@pytest.mark.parametrize("fields", NEAR_MISSES)
def test_near_misses_do_not_fire(cls: ClassifyFilter, fields: dict[str, Any]) -> None:
    out = one(cls, event(**fields))
    assert "security" not in out.tags, out.tags
    assert out.get("event.kind") == "event"


@pytest.mark.parametrize("agent", ["sqlmap/1.7.2#stable (https://sqlmap.org)",
                                   "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)",
                                   "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
                                   "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
                                   "Mozilla/5.0 zgrab/0.x", "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
                                   "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
                                   "gobuster/3.6", "Mozilla/5.0 (Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
                                   "Acunetix Web Vulnerability Scanner"])
def test_scanner_agents(cls: ClassifyFilter, agent: str) -> None:
    out = one(cls, event(user_agent__original=agent, url__path="/"))
    assert {"security", "scanner"} <= set(out.tags)
    assert out.get("event.severity") == 47 and out.get("event.kind") == "alert"


def test_categories_merge_with_existing(cls: ClassifyFilter) -> None:
    out = one(cls, event(event__category="network", url__original="/x?q=<script>"))
    assert out.get("event.category") == ["network", "web", "intrusion_detection"]


def test_severity_keeps_a_higher_existing_value(cls: ClassifyFilter) -> None:
    out = one(cls, event(event__severity=90, http__response__status_code=404))
    assert out.get("event.severity") == 90


def test_long_fields_are_searched_only_up_to_the_limit() -> None:
    f = make(max_scan_length=100)
    far = one(f, event(http__request__body__content="a" * 200 + "<script>"))
    near = one(f, event(http__request__body__content="a" * 10 + "<script>"))
    assert "xss" not in far.tags and "xss" in near.tags


# --- logins --------------------------------------------------------------------------------
@pytest.mark.parametrize("fields", [
    {"url__path": "/api/auth/login", "http__request__method": "POST", "http__response__status_code": 401},
    {"url__original": "/login?next=/", "http__request__method": "post", "http__response__status_code": "403"},
    {"url__path": "/api/v1/auth/login", "http__request__method": "POST", "http__response__status_code": 401},
    {"event__action": "login_failed"},
    {"message": "Login failed for user bob"},
    {"message": "invalid credentials supplied"},
])
def test_login_failures(cls: ClassifyFilter, fields: dict[str, Any]) -> None:
    out = one(cls, event(**fields))
    assert {"security", "login_failure"} <= set(out.tags)
    assert "authentication" in out.get("event.category")
    assert out.get("event.outcome") == "failure"
    assert out.get("event.kind") == "event"  # one failed login is not an alert


@pytest.mark.parametrize("fields", [
    {"url__path": "/api/auth/login", "http__request__method": "POST", "http__response__status_code": 200},
    {"url__path": "/api/auth/login", "http__request__method": "GET", "http__response__status_code": 401},
    {"url__path": "/api/memories", "http__request__method": "POST", "http__response__status_code": 401},
    {"message": "login succeeded for bob"},
])
def test_not_login_failures(cls: ClassifyFilter, fields: dict[str, Any]) -> None:
    assert "login_failure" not in one(cls, event(**fields)).tags


def test_successful_login_is_an_authentication_success(cls: ClassifyFilter) -> None:
    out = one(cls, event(url__path="/api/auth/login", http__request__method="POST",
                         http__response__status_code=200))
    assert out.get("event.category") == ["web", "authentication"]
    assert out.get("event.outcome") == "success"


# --- extension -----------------------------------------------------------------------------
def test_signatures_dir_and_extra_signatures_extend_the_lists(tmp_path: Path) -> None:
    (tmp_path / "scanner.txt").write_text("# ours\n\\bacme-probe\\b\n")
    f = make(signatures_dir=str(tmp_path), extra_signatures={"sqli": [r"\bgraph_injection\("]})
    assert "scanner" in one(f, event(user_agent__original="acme-probe/1.0")).tags
    assert "sqli" in one(f, event(url__query="q=graph_injection(1)")).tags
    assert "sqli" in one(f, event(url__query="q=1' or 1=1--")).tags  # built-ins still there


def test_bad_signature_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "xss.txt").write_text("# comment\n<ok\n(unclosed\n")
    with pytest.raises(ConfigError) as err:
        make(signatures_dir=str(tmp_path))
    assert err.value.line == 3 and err.value.file.endswith("xss.txt")


@pytest.mark.parametrize("extra, message", [({"nope": ["x"]}, "unknown signature list"),
                                            ({"sqli": [r"(a)\1"]}, "back-reference"),
                                            ({"xss": ["(?i)abc"]}, "global flag")])
def test_bad_extra_signatures(extra: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make(extra_signatures=extra)


def test_missing_signatures_dir() -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        make(signatures_dir="/nonexistent/signatures")


def test_security_checks_see_the_error_class_when_it_is_written_into_a_field_they_read() -> None:
    """The error class is written before the security checks run: when it goes into a
    field they read (here the action), they read the event as written, not as it came."""
    f = make(category_field="event.action", login_failure_actions=["client_error"])
    out = one(f, event(http__response__status_code=404, url__path="/x"))
    assert out.get("event.action") == "client_error"
    assert out.get("event.outcome") == "failure"
    assert "authentication" in out.get("event.category")
    # Without the overlap the action is read as it came: no login event.
    plain = one(make(login_failure_actions=["client_error"]),
                event(http__response__status_code=404, url__path="/x"))
    assert plain.get("error.category") == "client_error"
    assert "authentication" not in (plain.get("event.category") or [])
