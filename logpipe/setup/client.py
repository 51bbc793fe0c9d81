"""A thin JSON-over-HTTP view of the cluster for setup: status codes, never exceptions.

Setup needs to tell "missing" (404) and "not supported" (400/405 for an unknown
endpoint) from success, so every call returns ``(status, body)``; only a
cluster that cannot be reached raises.
"""
from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch

JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}


class Cluster:
    def __init__(self, client: AsyncElasticsearch) -> None:
        self.client = client

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = JSON_HEADERS if body is not None else {"accept": "application/json"}
        try:
            resp = await self.client.perform_request(method, path, headers=headers, body=body)
        except ApiError as exc:
            return exc.meta.status, exc.body
        return resp.meta.status, resp.body

    async def get(self, path: str) -> tuple[int, Any]:
        return await self.request("GET", path)

    async def put(self, path: str, body: Any) -> tuple[int, Any]:
        return await self.request("PUT", path, body)

    async def head(self, path: str) -> int:
        status, _ = await self.request("HEAD", path)
        return status

    async def close(self) -> None:
        await self.client.close()


def error_text(body: Any) -> str:
    """The most useful line of an Elasticsearch error body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            root = error.get("root_cause")
            if isinstance(root, list) and root and isinstance(root[0], dict):
                error = root[0]
            return f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
        if error:
            return str(error)
    return str(body)
