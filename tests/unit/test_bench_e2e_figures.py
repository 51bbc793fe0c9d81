"""How the e2e scenario reads request counts from logpipe's /metrics.

The figures say how many documents each bulk request carried and how many requests
were in flight; summing the wrong series (or one worker's only) would report a
request shape logpipe never sent.
"""
from __future__ import annotations

from logpipe.bench.e2e import prometheus_values

METRICS = """\
# HELP logpipe_output_bulk_size Documents per bulk request.
# TYPE logpipe_output_bulk_size histogram
logpipe_output_bulk_size_bucket{id="elasticsearch",le="1000"} 12
logpipe_output_bulk_size_sum{id="elasticsearch"} 10500
logpipe_output_bulk_size_count{id="elasticsearch"} 12
logpipe_output_bulk_size_sum{id="archive"} 300
logpipe_output_bulk_size_count{id="archive"} 3
logpipe_output_documents_total{id="elasticsearch",result="written"} 10700
logpipe_output_documents_total{id="elasticsearch",result="already_written"} 100
output_request_seconds_sum{id="elasticsearch"} 2.5
"""


def test_sums_each_series_over_its_labels() -> None:
    got = prometheus_values(METRICS, ("output_bulk_size_sum", "output_bulk_size_count",
                                      "output_documents_total", "output_request_seconds_sum"))
    assert got == {"output_bulk_size_sum": 10800.0, "output_bulk_size_count": 15.0,
                   "output_documents_total": 10800.0, "output_request_seconds_sum": 2.5}


def test_buckets_and_absent_series_do_not_count() -> None:
    got = prometheus_values(METRICS, ("output_bulk_size", "output_retries_total"))
    assert got == {"output_bulk_size": 0.0, "output_retries_total": 0.0}
