"""The bundled pattern library, family by family, on real-looking log lines."""
from __future__ import annotations

import pytest

from ._grok_helpers import captures

APACHE = ('203.0.113.9 - alice [10/Oct/2023:13:55:36 -0700] "GET /api/v1/memories?limit=20 '
          'HTTP/1.1" 200 2326 "https://app.example.com/start" "Mozilla/5.0 (X11; Linux x86_64)"')


# --- base --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0.0.0.0", "10.0.0.1", "192.168.1.254", "255.255.255.255",
                                  "010.001.1.1"])
def test_ipv4_accepts_dotted_quads(text: str) -> None:
    assert captures("^%{IPV4:ip}$", text) == {"ip": text}


@pytest.mark.parametrize("text", ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.300", "a.b.c.d"])
def test_ipv4_rejects_what_is_not_an_address(text: str) -> None:
    assert captures("^%{IPV4}$", text) is None


def test_ipv4_inside_text_does_not_start_mid_number() -> None:
    assert captures("%{IPV4:ip}", "addr 1256.1.1.1 and 10.1.2.3") == {"ip": "10.1.2.3"}


@pytest.mark.parametrize("text", [
    "2001:db8:85a3:0:0:8a2e:370:7334", "2001:db8::1", "::1", "::", "fe80::1%eth0",
    "::ffff:192.0.2.128", "2001:db8::192.0.2.1", "1:2:3:4:5:6:7::", "1::2:3:4:5:6:7",
    "2001:DB8:0:0:8:800:200C:417A", "64:ff9b::192.0.2.33",
])
def test_ipv6_forms(text: str) -> None:
    assert captures("^%{IPV6:ip}$", text) == {"ip": text}


@pytest.mark.parametrize("text", ["2001:db8:::1", "1:2:3:4:5:6:7:8:9", "12345::1", "g::1", "1.2.3.4"])
def test_ipv6_rejects_malformed(text: str) -> None:
    assert captures("^%{IPV6}$", text) is None


def test_ipv6_in_a_sentence_is_taken_whole() -> None:
    assert captures("from %{IP:ip} port", "from 2001:db8::5:6 port 22") == {"ip": "2001:db8::5:6"}


def test_int_with_type_gives_an_int() -> None:
    assert captures("n=%{INT:n:int}", "n=-42") == {"n": -42}


def test_number_with_float_type() -> None:
    assert captures("t=%{NUMBER:t:float}", "t=0.125") == {"t": 0.125}


def test_bool_type() -> None:
    assert captures("ok=%{WORD:ok:bool}", "ok=true") == {"ok": True}


@pytest.mark.parametrize("name,text", [
    ("UUID", "8f14e45f-ceea-467f-a8c2-1b5c6e1e3b2a"),
    ("MAC", "00:1A:2b:3c:4D:5e"), ("MAC", "00-1a-2b-3c-4d-5e"), ("MAC", "001a.2b3c.4d5e"),
    ("EMAILADDRESS", "first.last+tag@mail.example.org"),
    ("HOSTNAME", "api-1.graphmemory.svc.cluster.local"),
    ("HOSTPORT", "db.internal:5432"),
    ("URI", "https://user:pw@example.com:8443/a/b.html?q=1&r=%20x"),
    ("URIPATHPARAM", "/search?q=graph+memory&limit=10"),
    ("UNIXPATH", "/var/log/nginx/access.log"), ("WINPATH", "C:\\Windows\\System32\\drivers"),
    ("TTY", "/dev/pts/3"), ("QS", '"say \\"hi\\" now"'), ("QUOTEDSTRING", "'single'"),
    ("BASE16NUM", "0x1F"), ("BASE16FLOAT", "0x1.8"), ("POSINT", "42"), ("NONNEGINT", "0"),
    ("TIMESTAMP_ISO8601", "2024-01-15T10:23:45.123+01:00"),
    ("TIMESTAMP_ISO8601", "2024-01-15 10:23:45,123"),
    ("HTTPDATE", "10/Oct/2000:13:55:36 -0700"),
    ("SYSLOGTIMESTAMP", "Jan  5 14:03:01"),
    ("DATESTAMP_RFC2822", "Mon, 15 Jan 2024 10:23:45 +0000"),
    ("DATESTAMP_RFC822", "Mon Jan 15 2024 10:23:45 UTC"),
    ("DATESTAMP_OTHER", "Mon Jan 15 10:23:45 UTC 2024"),
    ("DATESTAMP_EVENTLOG", "20240115102345"),
    ("DATE_US", "01/15/2024"), ("DATE_EU", "15.01.2024"), ("DATESTAMP", "15-01-2024 10:23:45"),
    ("TIME", "23:59:60"), ("LOGLEVEL", "WARNING"), ("LOGLEVEL", "Information"),
    ("SYSLOGHOST", "web-01"), ("MONTH", "September"), ("DAY", "Thu"),
])
def test_base_patterns_match_whole_examples(name: str, text: str) -> None:
    assert captures(f"^%{{{name}:v}}$", text) == {"v": text}


@pytest.mark.parametrize("name,text", [
    ("UUID", "8f14e45f-ceea-467f-a8c2-1b5c6e1e3b2"), ("MONTHNUM", "13"), ("MONTHDAY", "32"),
    ("HOUR", "24"), ("MINUTE", "60"), ("POSINT", "0"), ("WORD", "two words"),
    ("HTTPDATE", "10/Foo/2000:13:55:36 -0700"), ("MONTH", "Janvier"), ("LOGLEVEL", "chatty"),
])
def test_base_patterns_reject(name: str, text: str) -> None:
    assert captures(f"^%{{{name}}}$", text) is None


# --- httpd -------------------------------------------------------------------------------
def test_combined_apache_log_ecs() -> None:
    assert captures("%{COMBINEDAPACHELOG}", APACHE) == {
        "source": {"address": "203.0.113.9"},
        "user": {"name": "alice"},
        "timestamp": "10/Oct/2023:13:55:36 -0700",
        "http": {"request": {"method": "GET", "referrer": "https://app.example.com/start"},
                 "version": "1.1",
                 "response": {"status_code": 200, "body": {"bytes": 2326}}},
        "url": {"original": "/api/v1/memories?limit=20"},
        "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64)"},
    }


def test_combined_apache_log_legacy() -> None:
    assert captures("%{COMBINEDAPACHELOG}", APACHE, ecs="disabled") == {
        "clientip": "203.0.113.9", "ident": "-", "auth": "alice",
        "timestamp": "10/Oct/2023:13:55:36 -0700", "verb": "GET",
        "request": "/api/v1/memories?limit=20", "httpversion": "1.1", "response": "200",
        "bytes": "2326", "referrer": '"https://app.example.com/start"',
        "agent": '"Mozilla/5.0 (X11; Linux x86_64)"',
    }


def test_common_log_with_dashes_gives_no_empty_fields() -> None:
    line = '::1 - - [10/Oct/2023:13:55:36 +0000] "HEAD / HTTP/1.0" 304 -'
    assert captures("^%{COMMONAPACHELOG}$", line) == {
        "source": {"address": "::1"}, "timestamp": "10/Oct/2023:13:55:36 +0000",
        "http": {"request": {"method": "HEAD"}, "version": "1.0", "response": {"status_code": 304}},
        "url": {"original": "/"},
    }


def test_garbage_request_line_still_matches_combined() -> None:
    line = '10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"'
    got = captures("%{COMBINEDAPACHELOG}", line)
    assert got is not None and got["http"] == {"response": {"status_code": 400, "body": {"bytes": 0}}}


def test_httpd24_error_log() -> None:
    line = ("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] "
            "[client 72.15.99.187:50432] AH00128: File does not exist: /usr/htdocs/favicon.ico")
    assert captures("%{HTTPD_ERRORLOG}", line) == {
        "timestamp": "Wed Oct 11 14:32:52.123456 2000",
        "apache": {"error": {"module": "core"}},
        "log": {"level": "error"},
        "process": {"pid": 35708, "thread": {"id": 4328636416}},
        "source": {"address": "72.15.99.187", "port": 50432},
        "error": {"code": "AH00128"},
        "message": "File does not exist: /usr/htdocs/favicon.ico",
    }


def test_httpd20_error_log_legacy() -> None:
    line = "[Mon Jan 15 10:23:45 2024] [error] [client 10.1.1.1] script not found: /x.cgi"
    assert captures("%{HTTPD_ERRORLOG}", line, ecs="disabled") == {
        "timestamp": "Mon Jan 15 10:23:45 2024", "loglevel": "error", "clientip": "10.1.1.1",
        "message": "script not found: /x.cgi"}


# --- syslog ------------------------------------------------------------------------------
def test_syslogline_ecs() -> None:
    line = "Jan  5 14:03:01 web-01 sshd[4242]: Accepted publickey for deploy from 10.0.0.7"
    assert captures("%{SYSLOGLINE}", line) == {
        "timestamp": "Jan  5 14:03:01", "host": {"hostname": "web-01"},
        "process": {"name": "sshd", "pid": 4242},
        "message": "Accepted publickey for deploy from 10.0.0.7"}


def test_syslogline_legacy_with_facility_and_iso_time() -> None:
    line = "2024-01-15T10:23:45Z <4.3> gw kernel: eth0 link up"
    assert captures("%{SYSLOGLINE}", line, ecs="disabled") == {
        "timestamp8601": "2024-01-15T10:23:45Z", "facility": "4", "priority": "3",
        "logsource": "gw", "program": "kernel", "message": "eth0 link up"}


def test_syslogbase_without_pid() -> None:
    got = captures("%{SYSLOGBASE} %{GREEDYDATA:msg}", "Mar 13 09:00:00 host CRON: job done",
                   ecs="disabled")
    assert got == {"timestamp": "Mar 13 09:00:00", "logsource": "host", "program": "CRON",
                   "msg": "job done"}


def test_syslog5424line_ecs() -> None:
    line = ('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 '
            '[exampleSDID@32473 iut="3" eventSource="Application"] An application event')
    assert captures("%{SYSLOG5424LINE}", line) == {
        "log": {"syslog": {"priority": 165}}, "system": {"syslog": {
            "version": "1",
            "structured_data": '[exampleSDID@32473 iut="3" eventSource="Application"]'}},
        "timestamp": "2003-10-11T22:14:15.003Z", "host": {"hostname": "mymachine.example.com"},
        "process": {"name": "evntslog", "pid": 1234}, "event": {"code": "ID47"},
        "message": "An application event"}


def test_syslog5424line_legacy_with_nil_values() -> None:
    line = "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed"
    assert captures("%{SYSLOG5424LINE}", line, ecs="disabled") == {
        "syslog5424_pri": "34", "syslog5424_ver": "1", "syslog5424_ts": "2003-10-11T22:14:15.003Z",
        "syslog5424_host": "mymachine", "syslog5424_app": "su", "syslog5424_msgid": "ID47",
        "syslog5424_msg": "'su root' failed"}


# --- java --------------------------------------------------------------------------------
def test_java_stack_trace_line() -> None:
    line = "\tat com.graphmemory.api.MemoryService.create(MemoryService.java:142)"
    assert captures("%{JAVASTACKTRACEPART}", line) == {
        "java": {"log": {"origin": {"class": {"name": "com.graphmemory.api.MemoryService"}}}},
        "log": {"origin": {"function": "create",
                           "file": {"name": "MemoryService.java", "line": 142}}}}


def test_java_stack_trace_native_and_constructor() -> None:
    got = captures("%{JAVASTACKTRACEPART}", "    at java.lang.Thread.<init>(Native Method)",
                   ecs="disabled")
    assert got == {"class": "java.lang.Thread", "method": "<init>", "file": "Native Method"}


def test_tomcat_and_catalina_logs() -> None:
    line = "2014-01-09 20:03:28,269 -0800 | ERROR | com.example.Service - boom"
    assert captures("%{TOMCATLOG}", line, ecs="disabled") == {
        "timestamp": "2014-01-09 20:03:28,269 -0800", "level": "ERROR",
        "class": "com.example.Service", "logmessage": "boom"}
    line8 = ("31-Jul-2020 16:40:38.505 INFO [main] org.apache.catalina.startup.Catalina.start "
             "Server startup in 1234 ms")
    got = captures("%{CATALINALOG}", line8)
    assert got is not None and got["log"] == {"level": "INFO", "origin": {"function": "start"}}
    assert got["java"]["log"]["origin"]["class"]["name"] == "org.apache.catalina.startup.Catalina"
    assert captures("^%{CATALINA_DATESTAMP}$", "Jan 9, 2014 7:13:13 AM") == {}


# --- haproxy -----------------------------------------------------------------------------
HAPROXY = ('Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] '
           'http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 '
           '{1wt.eu} {} "GET /index.html?x=1 HTTP/1.1"')


def test_haproxyhttp_ecs() -> None:
    got = captures("%{HAPROXYHTTP}", HAPROXY)
    assert got is not None
    assert got["source"] == {"address": "10.0.1.2", "port": 33317, "bytes": 2750}
    assert got["haproxy"]["frontend_name"] == "http-in"
    assert got["haproxy"]["server_name"] == "srv1"
    assert got["haproxy"]["total_time_ms"] == "109"  # kept as text: Logstash keeps the sign of "+109"
    assert got["haproxy"]["connections"] == {"active": 1, "frontend": 1, "backend": 1,
                                             "server": 1, "retries": 0}
    assert got["haproxy"]["http"]["request"]["captured_headers"] == "1wt.eu"
    assert got["http"] == {"request": {"method": "GET"}, "version": "1.1",
                           "response": {"status_code": 200}}
    assert got["url"] == {"original": "/index.html?x=1", "path": "/index.html", "query": "x=1"}
    assert got["process"] == {"name": "haproxy", "pid": 14389}


def test_haproxyhttp_legacy() -> None:
    got = captures("%{HAPROXYHTTP}", HAPROXY, ecs="disabled")
    assert got is not None
    assert (got["client_ip"], got["http_status_code"], got["http_verb"]) == ("10.0.1.2", "200", "GET")
    assert got["accept_date"] == "06/Feb/2009:12:14:14.655"
    assert got["haproxy_milliseconds"] == "655"


def test_haproxytcp() -> None:
    line = ('Feb  6 12:14:14 lb1 haproxy[1]: 10.0.0.5:40000 [06/Feb/2009:12:14:14.655] '
            'pg-in pg/db1 1/0/5007 212 -- 0/0/0/0/3 0/0')
    got = captures("%{HAPROXYTCP}", line)
    assert got is not None and got["haproxy"]["total_time_ms"] == "5007"
    assert got["haproxy"]["connections"]["retries"] == 3


# --- nginx and uvicorn -------------------------------------------------------------------
NGINX = ('10.42.0.17 - - [15/Jan/2024:10:23:45 +0000] "POST /api/v1/memories HTTP/1.1" 201 512 '
         '"-" "python-httpx/0.27.0" 0.153 0.150')


def test_nginx_access_ecs_with_times() -> None:
    assert captures("%{NGINXACCESS}", NGINX) == {
        "source": {"address": "10.42.0.17"}, "timestamp": "15/Jan/2024:10:23:45 +0000",
        "http": {"request": {"method": "POST"}, "version": "1.1",
                 "response": {"status_code": 201, "body": {"bytes": 512}}},
        "url": {"original": "/api/v1/memories"},
        "user_agent": {"original": "python-httpx/0.27.0"},
        "nginx": {"access": {"request_time": 0.153, "upstream_response_time": 0.15}}}


def test_nginx_access_plain_combined_and_upstream_lists() -> None:
    plain = NGINX.rsplit(" ", 2)[0]
    got = captures("%{NGINXACCESS}", plain)
    assert got is not None and "nginx" not in got
    listed = plain + ' "203.0.113.5" 0.300 0.100, 0.200'
    got = captures("%{NGINXACCESS}", listed)
    assert got is not None and got["nginx"]["access"] == {
        "forwarded_for": "203.0.113.5", "request_time": 0.3, "upstream_response_time": 0.1}


def test_nginx_access_legacy() -> None:
    got = captures("%{NGINXACCESS}", NGINX, ecs="disabled")
    assert got is not None
    assert (got["clientip"], got["verb"], got["response"], got["request_time"],
            got["upstream_response_time"], got["agent"]) == (
        "10.42.0.17", "POST", "201", "0.153", "0.150", '"python-httpx/0.27.0"')


def test_nginx_error() -> None:
    line = ('2024/01/15 10:23:45 [error] 31#31: *7 connect() failed (111: Connection refused) '
            'while connecting to upstream, client: 10.0.0.1, server: api.example.com, '
            'request: "GET /x HTTP/1.1", upstream: "http://127.0.0.1:8000/x", host: "api.example.com"')
    assert captures("%{NGINXERROR}", line) == {
        "timestamp": "2024/01/15 10:23:45", "log": {"level": "error"},
        "process": {"pid": 31, "thread": {"id": 31}}, "nginx": {"error": {
            "connection_id": 7, "upstream": "http://127.0.0.1:8000/x"}},
        "message": "connect() failed (111: Connection refused) while connecting to upstream",
        "source": {"address": "10.0.0.1"}, "server": {"domain": "api.example.com"},
        "http": {"request": {"method": "GET"}, "version": "1.1"},
        "url": {"original": "/x", "domain": "api.example.com"}}


def test_nginx_error_without_context() -> None:
    line = "2024/01/15 10:23:45 [warn] 1#1: conflicting server name \"x\" on 0.0.0.0:80, ignored"
    got = captures("%{NGINXERROR}", line, ecs="disabled")
    assert got is not None and got["message"] == 'conflicting server name "x" on 0.0.0.0:80, ignored'


def test_uvicorn_access_ecs() -> None:
    line = 'INFO:     10.0.0.1:52314 - "GET /api/x HTTP/1.1" 200 OK'
    assert captures("%{UVICORNACCESS}", line) == {
        "log": {"level": "INFO"}, "source": {"address": "10.0.0.1", "port": 52314},
        "http": {"request": {"method": "GET"}, "version": "1.1",
                 "response": {"status_code": 200}},
        "url": {"original": "/api/x"}}


def test_uvicorn_access_legacy_ipv6_client() -> None:
    line = 'WARNING:  ::1:8000 - "DELETE /api/x/1 HTTP/1.1" 404 Not Found'
    assert captures("%{UVICORNACCESS}", line, ecs="disabled") == {
        "loglevel": "WARNING", "clientip": "::1", "clientport": "8000", "verb": "DELETE",
        "request": "/api/x/1", "httpversion": "1.1", "response": "404"}


def test_every_bundled_pattern_runs_on_the_linear_gate() -> None:
    from logpipe.filters.grok.library import bundled
    from logpipe.filters.grok import Compiler
    for mode in ("v8", "disabled"):
        compiler = Compiler(ecs_compatibility=mode)
        engines = {name: compiler.compile(f"%{{{name}}}").engine for name in bundled(mode)}
        assert set(engines.values()) == {"gated"}, engines
