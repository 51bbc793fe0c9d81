"""A model of what GraphMemory's services log.

The spread is what makes benchmarks honest: client addresses repeat the way
real visitors do (a few heavy hitters, a long tail, some private addresses from
inside the cluster), user agents follow a browser/bot/tool mix, latencies are
log-normal around each route's typical time with a slow tail, and a small share
of the traffic is what the pipeline must catch: errors with stack traces, slow
queries, failed logins, attacks, and personal data that leaks into messages.

Every record carries a run id and a sequence number (the nginx request id, or
``trace.id`` and ``labels.seq`` in JSON logs), so tests can account for each one.

``formats="all"`` spreads the access lines over every common access format, not
only GraphMemory's own nginx format and uvicorn's: nginx's default ``combined``
and its sample ``main``, Apache common and combined, gunicorn's default line,
and nginx JSON access logs. Access records remember their request (method, path,
status), so tests can count per route what was really sent.
"""
from __future__ import annotations

import random
from itertools import accumulate
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import orjson

# Public addresses from well-known ranges, and cluster-internal ones.
_PUBLIC_PREFIXES = [
    "81.2.69.", "89.160.20.", "216.160.83.", "175.16.199.", "2.125.160.", "67.43.156.",
    "8.8.8.", "1.1.1.", "52.95.110.", "151.101.1.", "185.199.108.", "34.117.59.",
    "91.198.174.", "77.88.55.", "203.0.113.", "195.154.122.", "46.4.84.", "194.58.112.",
]
_PRIVATE = ["10.0.0.12", "10.0.3.7", "10.42.1.19", "192.168.1.20", "172.16.5.4", "127.0.0.1"]

_BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 16_{m} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
]
_TOOLS = [
    "curl/8.{m}.0", "python-requests/2.3{m}.0", "python-httpx/0.27.{m}", "Go-http-client/1.1",
    "kube-probe/1.2{m}",
]
_BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
]
_SCANNERS = ["sqlmap/1.7.{m}#stable (https://sqlmap.org)", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000{m})"]

# (method, path template, typical ms, weight)
_ROUTES = [
    ("GET", "/api/memories", 45, 18),
    ("GET", "/api/memories/{id}", 30, 14),
    ("POST", "/api/memories", 320, 8),
    ("GET", "/api/search?q={q}", 450, 12),
    ("POST", "/api/graph/query", 600, 7),
    ("GET", "/api/graph/nodes/{id}/neighbors", 120, 6),
    ("POST", "/api/auth/login", 90, 4),
    ("GET", "/api/analytics/summary", 900, 3),
    ("GET", "/dashboard/", 60, 8),
    ("GET", "/static/app.{id}.js", 5, 10),
    ("GET", "/health", 2, 10),
]
_QUERIES = ["neo4j+graph", "memory+retention", "select+a+theme", "knowledge+base", "embedding", "team+notes"]
_ATTACKS = [
    ("GET", "/api/search?q=1%27%20OR%201%3D1%20--"),
    ("GET", "/api/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--"),
    ("GET", "/api/memories?tag=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    ("GET", "/static/..%2F..%2F..%2Fetc%2Fpasswd"),
    ("GET", "/../../etc/shadow"),
]
_SERVICES = ["graphmemory-api", "analytics-engine", "streamlit-dashboard"]
_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
_DOMAINS = ["example.com", "graphmemory.io", "mail.test"]
#: Access formats that ``formats="all"`` mixes in, with their relative weights.
ACCESS_FORMATS = {"graphmemory": 4, "uvicorn": 2, "nginx_combined": 2, "nginx_main": 1,
                  "apache_common": 1, "apache_combined": 1, "gunicorn": 1, "nginx_json": 1}
FORMAT_CHOICES = ("graphmemory", "all")
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(slots=True)
class Record:
    """One generated log record: a raw line or a JSON document."""

    kind: str  # "nginx", "uvicorn", "app", or one of ACCESS_FORMATS
    seq: int
    line: str | None = None
    doc: dict[str, Any] | None = None
    #: (method, path, status) of an access record.
    request: tuple[str, str, int] | None = None

    def as_text(self) -> str:
        return self.line if self.line is not None else orjson.dumps(self.doc).decode()

    def as_object(self) -> dict[str, Any]:
        """The shape services POST or push: app logs as objects, raw lines as message."""
        return self.doc if self.doc is not None else {"message": self.line}


class TrafficModel:
    def __init__(self, seed: int = 1, run_id: str = "gen", access_share: float = 0.6,
                 uvicorn_share: float = 0.1, attack_share: float = 0.01, pii_share: float = 0.05,
                 now: datetime | None = None, formats: str = "graphmemory") -> None:
        if formats not in FORMAT_CHOICES:
            raise ValueError(f"formats must be one of {FORMAT_CHOICES}")
        self.formats = formats
        self.format_names = list(ACCESS_FORMATS)
        self.format_cum = list(accumulate(ACCESS_FORMATS.values()))
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.access_share = access_share
        self.uvicorn_share = uvicorn_share
        self.attack_share = attack_share
        self.pii_share = pii_share
        self.now = now or datetime.now(timezone.utc)
        rng = self.rng
        # A few thousand distinct visitors; a Zipf-like weighting makes some frequent.
        self.clients = [p + str(rng.randint(1, 254)) for p in _PUBLIC_PREFIXES for _ in range(150)]
        self.client_cum = list(accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(self.clients))))
        rng.shuffle(self.clients)
        self.agents = ([b.format(v=rng.randint(118, 131), m=rng.randint(0, 6)) for b in _BROWSERS for _ in range(20)]
                       + [t.format(m=rng.randint(0, 9)) for t in _TOOLS for _ in range(4)] + _BOTS)
        self.agent_cum = list(accumulate([3.0] * (len(_BROWSERS) * 20) + [1.0] * (len(_TOOLS) * 4)
                                         + [4.0] * len(_BOTS)))
        self.route_cum = list(accumulate(r[3] for r in _ROUTES))
        self.seq = 0

    # --- pieces ------------------------------------------------------------------------
    def _client(self) -> str:
        if self.rng.random() < 0.08:
            return self.rng.choice(_PRIVATE)
        return self.rng.choices(self.clients, cum_weights=self.client_cum)[0]

    def _email(self) -> str:
        return f"{self.rng.choice(_NAMES)}.{self.rng.randint(1, 99)}@{self.rng.choice(_DOMAINS)}"

    def _latency_ms(self, typical: float) -> float:
        ms = self.rng.lognormvariate(0, 0.6) * typical
        if self.rng.random() < 0.02:
            ms *= self.rng.uniform(5, 20)  # the slow tail that budgets catch
        return ms

    def _status(self, method: str, path: str) -> int:
        r = self.rng.random()
        if path.startswith("/api/auth/login"):
            return 401 if r < 0.25 else 200
        if r < 0.015:
            return self.rng.choice([500, 502, 503, 504])
        if r < 0.06:
            return self.rng.choice([400, 404, 404, 422])
        return 201 if method == "POST" and r > 0.5 else 200

    def _request(self) -> tuple[str, str, float, bool]:
        if self.rng.random() < self.attack_share:
            method, path = self.rng.choice(_ATTACKS)
            return method, path, 20.0, True
        method, template, typical, _ = self.rng.choices(_ROUTES, cum_weights=self.route_cum)[0]
        path = template.format(id=self.rng.randint(1, 50_000), q=self.rng.choice(_QUERIES))
        if self.rng.random() < self.pii_share and method == "GET":
            path += ("&" if "?" in path else "?") + f"email={self._email()}&token=tk_{self.rng.getrandbits(64):016x}"
        return method, path, typical, False

    def _time(self) -> datetime:
        return self.now - timedelta(milliseconds=self.rng.randint(0, 60_000))

    # --- records -----------------------------------------------------------------------
    def nginx(self, seq: int) -> Record:
        method, path, typical, attack = self._request()
        status = self._status(method, path)
        agent = self.rng.choice(_SCANNERS).format(m=self.rng.randint(0, 9)) if attack else \
            self.rng.choices(self.agents, cum_weights=self.agent_cum)[0]
        ts = self._time()
        stamp = f"{ts.day:02d}/{_MONTHS[ts.month - 1]}/{ts.year}:{ts:%H:%M:%S} +0000"
        size = 0 if status >= 300 else self.rng.randint(200, 60_000)
        referer = "-" if self.rng.random() < 0.7 else "https://graphmemory.io/dashboard/"
        user = "-" if self.rng.random() < 0.9 else self.rng.choice(_NAMES)
        seconds = self._latency_ms(typical) / 1000.0
        line = (f'{self._client()} - {user} [{stamp}] "{method} {path} HTTP/1.1" {status} {size} '
                f'"{referer}" "{agent}" {seconds:.3f} {self.run_id}-{seq}')
        return Record("nginx", seq, line=line, request=(method, path, status))

    def other_access(self, seq: int, kind: str) -> Record:
        """One access record in a format other than GraphMemory's own."""
        rng = self.rng
        method, path, typical, attack = self._request()
        status = self._status(method, path)
        agent = rng.choice(_SCANNERS).format(m=rng.randint(0, 9)) if attack else \
            rng.choices(self.agents, cum_weights=self.agent_cum)[0]
        ts = self._time()
        stamp = f"{ts.day:02d}/{_MONTHS[ts.month - 1]}/{ts.year}:{ts:%H:%M:%S} +0000"
        size = 0 if status >= 300 else rng.randint(200, 60_000)
        client = self._client()
        user = "-" if rng.random() < 0.9 else rng.choice(_NAMES)
        referer = "-" if rng.random() < 0.7 else "https://graphmemory.io/dashboard/"
        request = (method, path, status)
        if kind == "nginx_json":
            doc = {"time_iso8601": ts.isoformat(timespec="seconds"), "remote_addr": client,
                   "remote_user": "" if user == "-" else user, "request_method": method,
                   "request_uri": path, "server_protocol": "HTTP/1.1", "status": str(status),
                   "body_bytes_sent": str(size), "http_referer": "" if referer == "-" else referer,
                   "http_user_agent": agent,
                   "request_time": f"{self._latency_ms(typical) / 1000.0:.3f}",
                   "request_id": f"{self.run_id}-{seq}"}
            return Record(kind, seq, doc=doc, request=request)
        head = f'{client} - {user} [{stamp}] "{method} {path} HTTP/1.1" {status}'
        if kind == "apache_common":
            line = f"{head} {size or '-'}"
        elif kind in ("apache_combined", "gunicorn"):
            line = f'{head} {size or "-"} "{referer}" "{agent}"'
        elif kind == "nginx_main":
            forwarded = "-" if rng.random() < 0.5 else f"{self._client()}, 10.0.0.1"
            line = f'{head} {size} "{referer}" "{agent}" "{forwarded}"'
        else:  # nginx_combined
            line = f'{head} {size} "{referer}" "{agent}"'
        return Record(kind, seq, line=line, request=request)

    def uvicorn(self, seq: int) -> Record:
        method, path, _typical, _ = self._request()
        status = self._status(method, path)
        reason = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                  422: "Unprocessable Entity", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "OK")
        line = (f'INFO:     {self._client()}:{self.rng.randint(30000, 65000)} - '
                f'"{method} {path} HTTP/1.1" {status} {reason}')
        return Record("uvicorn", seq, line=line, request=(method, path, status))

    def app(self, seq: int) -> Record:
        rng = self.rng
        service = rng.choice(_SERVICES)
        doc: dict[str, Any] = {
            "@timestamp": self._time().isoformat().replace("+00:00", "Z"),
            "service": {"name": service},
            "log": {"level": "info", "logger": f"{service.replace('-', '_')}.handlers"},
            "trace": {"id": f"{self.run_id}-{seq}"},
            "labels": {"seq": seq, "run": self.run_id},
        }
        r = rng.random()
        if r < 0.06:
            exc, msg = rng.choice([
                ("neo4j.exceptions.ServiceUnavailable", "Unable to retrieve routing information"),
                ("asyncio.TimeoutError", "query exceeded 30s"),
                ("pydantic.ValidationError", "1 validation error for MemoryCreate"),
                ("redis.exceptions.ConnectionError", "Error 111 connecting to redis:6379"),
                ("KeyError", "'embedding'"),
            ])
            doc["log"]["level"] = "error"
            doc["message"] = f"request failed: {msg}"
            doc["error"] = {"type": exc, "message": msg, "stack_trace": (
                "Traceback (most recent call last):\n"
                f'  File "/app/{service.replace("-", "_")}/routes.py", line {rng.randint(20, 400)}, in handler\n'
                "    result = await service.run(payload)\n"
                f"{exc}: {msg}")}
        elif r < 0.12:
            ms = rng.randint(2000, 12000)
            doc["log"]["level"] = "warning"
            doc["message"] = f"slow query took {ms} ms"
            doc["event"] = {"duration": ms * 1_000_000}
            doc["db"] = {"statement": "MATCH (m:Memory)-[:RELATES_TO*1..4]->(n) RETURN n LIMIT 500"}
        elif r < 0.16:
            doc["log"]["level"] = "warning"
            doc["message"] = "login failed: invalid credentials"
            doc["event"] = {"action": "login_failed"}
            doc["user"] = {"email": self._email()}
            doc["source"] = {"ip": self._client()}
        else:
            doc["message"] = rng.choice([
                "memory created", "search served", "graph query planned", "cache hit ratio 0.93",
                "dashboard session started", "analytics batch finished",
            ])
            doc["http"] = {"request": {"method": "GET"}, "response": {"status_code": 200}}
            doc["event"] = {"duration": int(self._latency_ms(80) * 1_000_000)}
        if rng.random() < self.pii_share:
            leak = rng.choice([
                f"user {self._email()} updated profile",
                "payment with card 4111 1111 1111 1111 accepted",
                "auth header Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU",
                "config loaded with aws key AKIAIOSFODNN7EXAMPLE",
            ])
            doc["message"] = f"{doc.get('message', '')}; {leak}"
            doc["password"] = "hunter2"
            doc.setdefault("http", {}).setdefault("request", {})["headers"] = {
                "authorization": "Bearer abc.def.ghi", "cookie": "session=deadbeef"}
        return Record("app", seq, doc=doc)

    def next(self) -> Record:
        seq = self.seq
        self.seq += 1
        r = self.rng.random()
        if self.formats == "all":
            if r >= self.access_share:
                return self.app(seq)
            kind = self.rng.choices(self.format_names, cum_weights=self.format_cum)[0]
            if kind == "graphmemory":
                return self.nginx(seq)
            if kind == "uvicorn":
                return self.uvicorn(seq)
            return self.other_access(seq, kind)
        if r < self.uvicorn_share:
            return self.uvicorn(seq)
        if r < self.access_share:
            return self.nginx(seq)
        return self.app(seq)

    def __iter__(self) -> Iterator[Record]:
        while True:
            yield self.next()

    def take(self, n: int) -> list[Record]:
        return [self.next() for _ in range(n)]
