"""The cef codec, case by case from the behaviour Logstash's cef codec specifies."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from logpipe.codecs import build
from logpipe.core.event import Event

RECORD = (b"CEF:0|security|threatmanager|1.0|100|trojan successfully stopped|10|"
          b"src=10.0.0.192 dst=12.121.122.82 spt=1232")
MODES = {"v8": {"vendor": "[observer][vendor]", "product": "[observer][product]", "version": "[cef][version]",
                "dversion": "[observer][version]", "code": "[event][code]", "name": "[cef][name]",
                "severity": "[event][severity]", "src": "[source][ip]", "dst": "[destination][ip]",
                "spt": "[source][port]", "syslog": "[log][syslog][header]"},
         "disabled": {"vendor": "deviceVendor", "product": "deviceProduct", "version": "cefVersion",
                      "dversion": "deviceVersion", "code": "deviceEventClassId", "name": "name",
                      "severity": "severity", "src": "sourceAddress", "dst": "destinationAddress",
                      "spt": "sourcePort", "syslog": "syslog"}}


def one(data: bytes, **options: object) -> Event:
    events = build("cef", options).decode(data)
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize("mode", ["v8", "disabled"])
def test_header_and_extension_fields_take_the_mode_s_names(mode: str) -> None:
    f = MODES[mode]
    e = one(RECORD, ecs_compatibility=mode)
    assert e.get(f["version"]) == "0"
    assert e.get(f["vendor"]) == "security"
    assert e.get(f["product"]) == "threatmanager"
    assert e.get(f["dversion"]) == "1.0"
    assert e.get(f["code"]) == "100"
    assert e.get(f["name"]) == "trojan successfully stopped"
    assert e.get(f["severity"]) == "10"
    assert (e.get(f["src"]), e.get(f["dst"]), e.get(f["spt"])) == ("10.0.0.192", "12.121.122.82", "1232")
    assert "tags" not in e.data


@pytest.mark.parametrize("mode", ["v8", "disabled"])
def test_syslog_header_before_cef_is_kept_apart(mode: str) -> None:
    e = one(b"Syslogdate Sysloghost " + RECORD, ecs_compatibility=mode)
    assert e.get(MODES[mode]["syslog"]) == "Syslogdate Sysloghost"
    assert e.get(MODES[mode]["version"]) == "0"


def test_escaped_pipes_and_backslashes_in_the_header() -> None:
    e = one(rb"CEF:0|secu\|rity|threatmanager\||1.\|0|10\|0|tro\|jan|\|10|")
    assert e.get("[observer][vendor]") == "secu|rity"
    assert e.get("[observer][product]") == "threatmanager|"
    assert e.get("[event][severity]") == "|10"
    e = one(rb"CEF:0|security\\\||threatmanager\\|1.0|100|trojan|10|")
    assert e.get("[observer][vendor]") == "security\\|"
    assert e.get("[observer][product]") == "threatmanager\\"


def test_empty_header_fields_are_empty_strings() -> None:
    e = one(b"CEF:0|||1.0|100|trojan|10|src=10.0.0.192")
    assert e.get("[observer][vendor]") == "" and e.get("[observer][product]") == ""


def test_extension_values_hold_spaces_pipes_and_escaped_equals() -> None:
    e = one(rb"CEF:0|a|b|1|100|n|10|go=start now query_string=k1\=v1&k2\=v3 aa.bc final=done")
    assert e.get("go") == "start now"
    assert e.get("query_string") == "k1=v1&k2=v3 aa.bc"
    assert e.get("final") == "done"
    assert one(rb"CEF:0|a|b|1|100|n|10|moo=this|has a pipe").get("moo") == "this|has a pipe"
    assert one(rb"CEF:0|a|b|1|100|n|10|moo=this =has = equals\=").get("moo") == "this =has = equals="
    assert one(rb"CEF:0|a|b|1|100|n|10|msg=line one\nline two").get("message") == "line one\nline two"


def test_an_unescaped_equals_not_shaped_like_a_key_stays_in_the_value() -> None:
    e = one(b"CEF:0|FooBar|Web Gateway|1.2.3.45.67|200|Success|2|rt=Sep 07 2018 14:50:39 cat=Access Log "
            b"requestClientApplication='Foo-Bar/2018.1.7; Guid:test=' cs1= cs1Label=Foo Bar",
            default_timezone="UTC")
    assert e.get("[user_agent][original]") == "'Foo-Bar/2018.1.7; Guid:test='"
    assert e.get("[cef][category]") == "Access Log"
    assert e.get("[cef][device_custom_string_1][label]") == "Foo Bar"
    assert e.get("[cef][device_custom_string_1][value]") == ""
    assert e.timestamp == datetime(2018, 9, 7, 14, 50, 39, tzinfo=timezone.utc)


def test_zoneless_receipt_time_uses_the_device_time_zone() -> None:
    e = one(b"CEF:0|Security|tm|1.0|100|worm stopped|10|rt=Jul 19 2017 10:50:21.127 dtz=Europe/Moscow src=10.0.0.1")
    assert e.timestamp == datetime(2017, 7, 19, 7, 50, 21, 127000, tzinfo=timezone.utc)
    assert e.get("[event][timezone]") == "Europe/Moscow"
    legacy = one(b"CEF:0|Security|tm|1.0|100|worm stopped|10|rt=Jul 19 2017 10:50:21.127 dtz=Europe/Moscow",
                 ecs_compatibility="disabled")
    assert legacy.get("deviceReceiptTime") == "Jul 19 2017 10:50:21.127"


def test_epoch_millis_and_device_host_routing() -> None:
    e = one(b"CEF:0|a|b|1|100|n|5|art=1500464384997 dvchost=client1 dvc=10.1.1.1", device="host")
    assert e.get("[event][created]") == datetime.fromtimestamp(1500464384.997, timezone.utc)
    assert e.get("[host][name]") == "client1" and e.get("[host][ip]") == "10.1.1.1"
    o = one(b"CEF:0|a|b|1|100|n|5|dvchost=client1")
    assert o.get("[observer][hostname]") == "client1"


def test_array_like_keys_become_field_references() -> None:
    e = one(b"CEF:0|a|b|1|100|n|5|values[0]=x ad.field=y", ecs_compatibility="disabled")
    assert e.get("[values][0]") == "x"
    assert e.data["ad.field"] == "y"


@pytest.mark.parametrize("garbage", [b"not cef at all", b"CEF:0|only|three", b"\xff\xfeCEF:0|a|b|c|d|e|f|"])
def test_what_is_not_cef_is_kept_and_tagged(garbage: bytes) -> None:
    e = one(garbage)
    assert "_cefparsefailure" in e.tags
    assert e.get("message").startswith(garbage[:3].decode("utf-8", "replace"))


def test_quoted_records_and_raw_data_field() -> None:
    e = one(b'"' + RECORD + b'"', raw_data_field="raw")
    assert e.get("[event][severity]") == "10"
    assert e.get("raw") == '"' + RECORD.decode() + '"'


def test_stream_with_delimiter_waits_for_it() -> None:
    stream = build("cef", {"delimiter": "\\r\\n"}).stream()
    assert stream.feed(RECORD) == []
    events = stream.feed(b"\r\n")
    assert len(events) == 1 and events[0].get("[observer][vendor]") == "security"


# --- encoding --------------------------------------------------------------------------
def encode(event: dict[str, object], **options: object) -> str:
    return build("cef", options).encode(Event(event)).decode()


def test_defaults_and_empty_header_values() -> None:
    assert encode({"foo": "bar"}) == "CEF:0|Elasticsearch|Logstash|1.0|Logstash|Logstash|6|"
    blank = {k: "" for k in ("vendor", "product", "version", "signature", "name", "severity")}
    assert encode({"foo": "bar"}, **blank) == "CEF:0|Elasticsearch|Logstash|1.0|Logstash|Logstash|6|"


def test_header_templates_and_severity_checks() -> None:
    opts = {k: f"%{{{k}}}" for k in ("vendor", "product", "version", "signature", "name", "severity")}
    ev = {"vendor": "v", "product": "p", "version": "2.0", "signature": "s", "name": "n", "severity": "1"}
    assert encode(ev, **opts) == "CEF:0|v|p|2.0|s|n|1|"
    for bad in ("foo", "11", "-1", "5.4"):
        assert encode({}, severity=bad).endswith("|6|")
    assert encode({}, severity="1.0").endswith("|1|")


def test_header_and_extension_escaping() -> None:
    text = encode({"foo": "foo\\value\n", "bar": "bar=value\r"}, vendor="ven\ndor", product="pro|duct",
                  version="ver\\sion", signature="sig\r\nnature", fields=["foo", "bar", "baz"])
    assert text == ("CEF:0|ven dor|pro\\|duct|ver\\\\sion|sig nature|Logstash|6|"
                    "foo=foo\\\\value\\n bar=bar\\=value\\n")


def test_extension_keys_are_sanitized_and_values_json() -> None:
    text = encode({"f o\no": "x", "@b-a_r": "y", "h": {"a": 1}, "l": ["b", "c"]},
                  fields=["f o\no", "@b-a_r", "h", "l"], ecs_compatibility="disabled")
    ext = text.split("|", 7)[7]
    assert ext.startswith("foo=x bar=y h=")
    assert orjson.loads(ext.split("h=")[1].split(" l=")[0].replace("\\=", "=")) == {"a": 1}
    assert orjson.loads(ext.split(" l=")[1]) == ["b", "c"]


def test_reverse_mapping_and_ecs_fields_encode_to_cef_names() -> None:
    ev = {"source": {"ip": "1.2.3.4"}, "deviceAction": "blocked"}
    assert encode(ev, fields=["[source][ip]", "deviceAction"]).endswith("|sourceAddress=1.2.3.4 deviceAction=blocked")
    assert encode(ev, fields=["[source][ip]", "deviceAction"], reverse_mapping=True).endswith("|src=1.2.3.4 act=blocked")
    assert encode({"sourceAddress": "1.2.3.4"}, fields=["sourceAddress"], reverse_mapping=True,
                  ecs_compatibility="disabled").endswith("|src=1.2.3.4")


def test_delimiter_is_appended_and_round_trip_decodes() -> None:
    codec = build("cef", {"delimiter": "\\r\\n", "fields": ["[source][ip]", "message"]})
    data = codec.encode(Event({"source": {"ip": "10.0.0.1"}, "message": "a=b c\nd"}))
    assert data.endswith(b"\r\n")
    back = codec.decode(data)
    assert back[0].get("[source][ip]") == "10.0.0.1" and back[0].get("message") == "a=b c\nd"


@pytest.mark.parametrize("garbage", [b"CEF:0|" + b"a\\|" * 100_000, b"CEF:0|a|b|c|" + b"\\" * 200_000])
def test_huge_unterminated_headers_are_refused_in_one_pass(garbage: bytes) -> None:
    """Header reading is linear: a record without its seven pipes fails without rescanning."""
    (e,) = build("cef").decode(garbage)
    assert e.tags == ["_cefparsefailure"] and len(e.data["message"]) == len(garbage)
