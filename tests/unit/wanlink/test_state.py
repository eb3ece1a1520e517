"""The link's state machine: what the control endpoint may ask, and what a cut means for
the connections that are open and those still to come."""

from __future__ import annotations

import pytest

from cango_operator.devcluster.wanclient import CUT, UP, LinkStatus
from cango_operator.devcluster.wanstate import MAX_DELAY_MS, LinkState, loopback_address


class TestCommands:
    def test_a_new_link_is_up_without_delay(self) -> None:
        assert LinkState().status(0) == LinkStatus(UP, 0, 0, 0, 0, 0)

    def test_a_cut_stalls_the_open_connections_and_heal_brings_the_link_back(self) -> None:
        link = LinkState()
        assert link.apply("cut", {}) is False
        assert link.state == CUT
        link.apply("heal", {})
        assert link.state == UP

    def test_a_reset_cut_asks_for_the_open_connections_to_be_closed(self) -> None:
        link = LinkState()
        assert link.apply("cut", {"reset": True}) is True
        assert link.state == CUT

    def test_cutting_twice_or_healing_an_up_link_changes_nothing_more(self) -> None:
        link = LinkState()
        link.apply("cut", {})
        link.apply("cut", {})
        assert link.state == CUT
        link.apply("heal", {})
        link.apply("heal", {})
        assert link.state == UP

    def test_the_delay_is_kept_across_cut_and_heal(self) -> None:
        link = LinkState()
        link.apply("delay", {"ms": 250})
        link.apply("cut", {})
        link.apply("heal", {})
        assert link.status(0).delay_ms == 250
        assert link.delay_s == 0.25

    @pytest.mark.parametrize(
        ("command", "body", "says"),
        [
            ("delay", {"ms": -1}, "0..60000"),
            ("delay", {"ms": MAX_DELAY_MS + 1}, "0..60000"),
            ("delay", {"ms": 1.5}, "whole number"),
            ("delay", {"ms": True}, "whole number"),
            ("delay", {}, "whole number"),
            ("cut", {"reset": "yes"}, "true or false"),
            ("cut", {"for": 10}, "unknown field"),
            ("heal", {"ms": 1}, "unknown field"),
            ("flap", {}, "unknown command"),
        ],
    )
    def test_a_malformed_command_is_refused_and_changes_nothing(
        self, command: str, body: dict[str, object], says: str
    ) -> None:
        link = LinkState()
        with pytest.raises(ValueError, match=says):
            link.apply(command, body)
        assert link.status(0) == LinkStatus(UP, 0, 0, 0, 0, 0)


class TestAdmission:
    def test_an_up_link_or_a_dead_wan_takes_new_connections(self) -> None:
        link = LinkState()
        assert link.admit(0)
        link.apply("cut", {})
        assert link.admit(1)  # held, unanswered, as over a dead link
        assert link.status(0).accepted == 2

    def test_a_reset_cut_closes_new_connections_until_healed(self) -> None:
        link = LinkState()
        link.apply("cut", {"reset": True})
        assert not link.admit(0)
        link.apply("heal", {})
        assert link.admit(0)

    def test_connections_beyond_the_bound_are_closed(self) -> None:
        link = LinkState(max_connections=2)
        assert link.admit(1)
        assert not link.admit(2)


class TestCounting:
    def test_bytes_are_counted_per_direction(self) -> None:
        link = LinkState()
        link.count(True, 10)
        link.count(False, 3)
        link.count(True, 5)
        status = link.status(4)
        assert (status.bytes_up, status.bytes_down, status.open_connections) == (15, 3, 4)


class TestAddresses:
    @pytest.mark.parametrize("text", ["127.0.0.1:6443", "127.1.2.3:0"])
    def test_loopback_addresses_are_taken(self, text: str) -> None:
        host, port = loopback_address(text)
        assert f"{host}:{port}" == text

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("10.0.0.1:6443", "127.0.0.0/8"),
            ("0.0.0.0:6443", "127.0.0.0/8"),
            ("localhost:6443", "IPv4 address"),
            ("127.0.0.1", "host:port"),
            ("127.0.0.1:99999", "host:port"),
        ],
    )
    def test_anything_off_loopback_is_refused(self, text: str, says: str) -> None:
        with pytest.raises(ValueError, match=says):
            loopback_address(text)
