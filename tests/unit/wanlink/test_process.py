"""The link as its own process, driven through its control endpoint by the client the
tests and the CLI use; it forwards to its target, refuses addresses off loopback, and
stops on SIGTERM."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from cango_operator.devcluster.sitelink import MODULE
from cango_operator.devcluster.wanclient import CUT, UP, WanLink
from cango_operator.errors import ClusterError
from tests.loopback import free_port


def echoes(port: int, data: bytes, timeout: float) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        try:
            return sock.recv(len(data)) == data
        except TimeoutError:
            return False


class TestTheProcess:
    def test_it_forwards_and_is_cut_healed_and_delayed_through_its_client(
        self, link: tuple[WanLink, int]
    ) -> None:
        client, port = link
        assert echoes(port, b"ping", timeout=5)
        assert client.cut().state == CUT
        assert not echoes(port, b"ping", timeout=0.5)
        healed = client.heal()
        assert healed.state == UP
        assert healed.accepted == 2
        assert echoes(port, b"ping", timeout=5)
        assert client.delay(50).delay_ms == 50
        assert client.status().bytes_up >= 8

    def test_a_malformed_command_is_refused_with_the_reason(
        self, link: tuple[WanLink, int]
    ) -> None:
        client, _ = link
        with pytest.raises(ClusterError, match=r"HTTP 400.*0\.\.60000"):
            client.delay(-5)
        assert client.status().delay_ms == 0

    def test_a_link_process_that_is_not_there_is_a_clear_error(self) -> None:
        with pytest.raises(ClusterError, match=r"WAN link 127\.0\.0\.1"):
            WanLink(f"127.0.0.1:{free_port()}", timeout=2).status()

    def test_an_address_off_loopback_is_refused_at_start(self) -> None:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                MODULE,
                "--listen=0.0.0.0:7000",
                "--target=127.0.0.1:6443",
                "--control=127.0.0.1:7001",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2
        assert "127.0.0.0/8" in proc.stderr
