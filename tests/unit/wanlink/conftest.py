"""A real link process in front of a real TCP echo server, both on 127.0.0.1."""

from __future__ import annotations

import socketserver
import subprocess
import threading
from collections.abc import Iterator

import pytest

from cango_operator.devcluster.sitelink import link_argv
from cango_operator.devcluster.wanclient import WanLink
from tests.loopback import free_port


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,))
        thread.start()
        try:
            yield int(server.server_address[1])
        finally:
            server.shutdown()
            thread.join(5)


@pytest.fixture
def link(echo_port: int) -> Iterator[tuple[WanLink, int]]:
    """A link process in front of the echo server; yields its client and its port."""
    listen, control = free_port(), free_port()
    argv = link_argv(
        f"127.0.0.1:{listen}", f"127.0.0.1:{echo_port}", f"127.0.0.1:{control}", "test"
    )
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = WanLink(f"127.0.0.1:{control}")
        client.wait_ready(timeout=30)
        yield client, listen
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()
