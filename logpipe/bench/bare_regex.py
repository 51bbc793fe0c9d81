"""The yardstick of scenario "regex": no framework, one process, one loop.

Reads lines over TCP, applies the harness expression, writes JSON lines to the
consumer. Whatever logpipe adds on top of this is framework cost.

    python -m logpipe.bench.bare_regex IN_PORT OUT_PORT REGEX
"""
from __future__ import annotations

import asyncio
import re
import sys

import orjson


async def serve(in_port: int, out_port: int, pattern: str) -> None:
    rx = re.compile(pattern)
    _, out = await asyncio.open_connection("127.0.0.1", out_port)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending = b""
        while True:
            chunk = await reader.read(262144)
            if not chunk:
                break
            data = pending + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            pending = data[cut + 1:]
            docs = []
            for raw in data[:cut].split(b"\n"):
                line = raw.decode("utf-8", "replace")
                m = rx.match(line)
                doc = m.groupdict() if m else {}
                doc["message"] = line
                docs.append(orjson.dumps(doc))
            out.write(b"\n".join(docs) + b"\n")
            await out.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", in_port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        asyncio.run(serve(int(args[0]), int(args[1]), args[2]))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
