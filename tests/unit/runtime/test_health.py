"""The status endpoint renders what it is given: health, readiness, metrics, stats."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

from logpipe.runtime.health import StatusServer


def test_endpoints() -> None:
    state = {"ready": (False, "worker 1 is restarting")}

    async def scenario() -> dict[str, Any]:
        server = StatusServer("127.0.0.1", 0, status=lambda: {"pipeline": "gm", "workers": [{"pid": 7}]},
                              ready=lambda: state["ready"], metrics=lambda: b"logpipe_up 1\n")
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        got: dict[str, Any] = {}
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                got["healthz"] = (await client.get("/healthz")).status_code
                r = await client.get("/readyz")
                got["not_ready"] = (r.status_code, r.json())
                state["ready"] = (True, "ok")
                got["ready"] = (await client.get("/readyz")).status_code
                r = await client.get("/metrics")
                got["metrics"] = (r.headers["content-type"], r.text)
                got["stats"] = (await client.get("/stats")).json()
        finally:
            await server.stop()
        return got

    got = asyncio.run(scenario())
    assert got["healthz"] == 200
    assert got["not_ready"] == (503, {"ready": False, "reason": "worker 1 is restarting"})
    assert got["ready"] == 200
    assert got["metrics"][0].startswith("text/plain; version=")
    assert got["metrics"][1] == "logpipe_up 1\n"
    assert got["stats"] == {"pipeline": "gm", "workers": [{"pid": 7}]}
