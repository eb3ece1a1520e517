"""A small OpenAI-compatible model server for the test bed: canned answers, a configurable
latency, one process serving many addresses (a site's replicas).

    python -m cango_operator.devcluster.fakemodel --listen 127.10.0.2:8000 --name tx-1

Kwok marks a job's pods Running but starts no container; a test gives each pod an address
in 127.0.0.0/8 (its node's ``spec.podCIDR``) and serves it with this, so the gateway in
front of the job reaches a real HTTP server at the pod's IP and port. Every answer says
who served it (header ``x-served-by``: the address, and ``x-served-site``: ``--name``)
and, for completions, what the gateway passed on (``x-seen-client``,
``x-seen-authorization``).

Paths: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (canned OpenAI-shaped
answers), ``GET /v1/models``, ``GET /health`` (the gateway's health check), ``GET
/metrics`` (requests served and in flight, with vLLM's gauge names).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Sequence

from aiohttp import web

MODEL = "fake-llm"


class FakeModel:
    """One address's server: counts what it served."""

    def __init__(self, address: str, site: str, latency_s: float) -> None:
        self.address = address
        self.site = site
        self.latency_s = latency_s
        self.served = 0
        self.running = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completion)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics)
        return app

    def _headers(self, request: web.Request | None = None) -> dict[str, str]:
        headers = {"x-served-by": self.address, "x-served-site": self.site}
        if request is not None:
            # What the gateway passed on: the API key's client, and whether the key itself
            # reached the replica (it should not).
            headers["x-seen-client"] = request.headers.get("x-cango-client", "")
            headers["x-seen-authorization"] = str("authorization" in request.headers).lower()
        return headers

    async def _answer(self, request: web.Request, kind: str) -> web.Response:
        self.running += 1
        try:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return web.json_response(
                    {"error": {"message": "the body is not JSON", "type": "invalid_request"}},
                    status=400,
                    headers=self._headers(request),
                )
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            self.served += 1
            text = f"served by {self.address} at {self.site}"
            choice: dict[str, object] = (
                {"index": 0, "message": {"role": "assistant", "content": text}}
                if kind == "chat.completion"
                else {"index": 0, "text": text}
            )
            choice["finish_reason"] = "stop"
            answer = {
                "id": f"cmpl-{self.served}",
                "object": kind,
                "created": int(time.time()),
                "model": body.get("model", MODEL) if isinstance(body, dict) else MODEL,
                "choices": [choice],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            return web.json_response(answer, headers=self._headers(request))
        finally:
            self.running -= 1

    async def chat(self, request: web.Request) -> web.Response:
        return await self._answer(request, "chat.completion")

    async def completion(self, request: web.Request) -> web.Response:
        return await self._answer(request, "text_completion")

    async def models(self, _: web.Request) -> web.Response:
        listing = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
        return web.json_response(listing, headers=self._headers())

    async def health(self, _: web.Request) -> web.Response:
        return web.Response(text="ok", headers=self._headers())

    async def metrics(self, _: web.Request) -> web.Response:
        text = (
            f"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running {self.running}\n"
            f"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 0\n"
            f"# TYPE fake_requests_served_total counter\nfake_requests_served_total {self.served}\n"
        )
        return web.Response(text=text, headers=self._headers())


def split_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (an IPv6 host in brackets)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"an address is HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


async def serve(addresses: Sequence[str], site: str, latency_s: float) -> None:
    """Serve every address until SIGTERM or SIGINT; print ``ready`` once all listen."""
    runners = []
    for address in addresses:
        host, port = split_address(address)
        runner = web.AppRunner(FakeModel(address, site, latency_s).app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_address=True).start()
        runners.append(runner)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--listen", action="append", required=True, metavar="HOST:PORT", help="repeatable"
    )
    parser.add_argument("--name", default="", help="the site named in x-served-site")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="time each answer takes (default: 0)"
    )
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")
    asyncio.run(serve(args.listen, args.name, args.latency_ms / 1000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
