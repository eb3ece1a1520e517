"""A model server of one fake model: GET /v1/models, POST /v1/completions, GET /healthz
and GET /health (vLLM's path, which the gateway's health checks use).

Listens on $PORT (8000 by default) on every address of its pod; the answer names the
pod ($HOSTNAME), so a test knows which replica it reached.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = os.environ.get("MODEL", "cango-tiny")


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path in ("/healthz", "/health"):
            self._send(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        if self.path != "/v1/completions":
            self._send(404, {"error": f"no route {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        prompt = str(request.get("prompt", ""))
        self._send(
            200,
            {
                "object": "text_completion",
                "model": MODEL,
                "served_by": os.environ.get("HOSTNAME", ""),
                "choices": [{"index": 0, "text": prompt[::-1]}],
            },
        )


def main() -> None:
    server = ThreadingHTTPServer(("", int(os.environ.get("PORT", "8000"))), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
