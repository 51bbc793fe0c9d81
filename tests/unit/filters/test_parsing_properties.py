"""Property tests: the parsing filters tag bad input and never raise."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logpipe.core.event import Event
from logpipe.filters.date import DateFilter
from logpipe.filters.dissect import DissectFilter
from logpipe.filters.grok import GrokFilter
from logpipe.filters.json import JsonFilter
from logpipe.filters.kv import KvFilter

TEXT = st.one_of(st.text(), st.text(alphabet=' =&"[]()<>%{}:,;|\\-/0123456789abcZ'),
                 st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")))
VALUES = st.one_of(TEXT, st.binary(), st.integers(), st.floats(), st.none(),
                   st.lists(TEXT, max_size=3))

FILTERS = [
    DissectFilter(DissectFilter.Config(mapping={"message": "%{a} [%{?k}=%{&k}] %{+a/1} %{b->}|%{c}"},
                                       convert_datatype={"b": "int"}), id="d"),
    KvFilter(KvFilter.Config(), id="kv1"),
    KvFilter(KvFilter.Config(field_split="&,", value_split=":=", target="kv", prefix="p_",
                             trim_value="\"'", include_brackets=False), id="kv2"),
    JsonFilter(JsonFilter.Config(source="message"), id="j1"),
    JsonFilter(JsonFilter.Config(source="message", target="doc"), id="j2"),
    DateFilter(DateFilter.Config(match=["message", "ISO8601", "UNIX", "UNIX_MS", "TAI64N",
                                        "dd/MMM/yyyy:HH:mm:ss Z", "MMM  d HH:mm:ss",
                                        "yyyy-MM-dd HH:mm:ss,SSS"]), id="dt"),
    GrokFilter(GrokFilter.Config(match={"message": ["%{COMBINEDAPACHELOG}", "%{SYSLOGLINE}",
                                                    "%{NGINXERROR}"]}), id="g"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES)
def test_filters_never_raise(value) -> None:
    for f in FILTERS:
        [event] = f.process([Event({"message": value})])
        assert isinstance(event.tags, list)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_date_filter_tags_or_sets_a_utc_datetime(text: str) -> None:
    f = FILTERS[5]
    [event] = f.process([Event({"message": text})])
    ts = event.get("@timestamp")
    assert ts.utcoffset().total_seconds() == 0
    assert event.data.get("tags") in (None, ["_dateparsefailure"])
