"""When the guard takes the hub for away, and for back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cango_operator.siteguard import HubReachability
from tests.unit.siteguard.factories import T0


def probes(verdict: HubReachability, answers: str) -> list[bool]:
    """Feed ``answers`` ('y' answered, 'n' silent), one a second; the verdict after each."""
    out = []
    for i, answer in enumerate(answers):
        verdict.observe(answer == "y", T0 + timedelta(seconds=i))
        out.append(verdict.reachable)
    return out


class TestAway:
    def test_reachable_until_misses_silences_in_a_row(self) -> None:
        assert probes(HubReachability(misses=3), "nnn") == [True, True, False]

    def test_an_answer_in_between_starts_the_count_again(self) -> None:
        assert probes(HubReachability(misses=3), "nnynnyn") == [True] * 7

    def test_back_at_the_first_answer(self) -> None:
        assert probes(HubReachability(misses=2), "nnny") == [True, False, False, True]

    def test_says_when_it_turned(self) -> None:
        verdict = HubReachability(misses=2)
        turns = [verdict.observe(a == "y", T0 + timedelta(seconds=i)) for i, a in enumerate("nnny")]
        assert turns == [False, True, False, True]
        assert verdict.since == T0 + timedelta(seconds=3)

    def test_at_least_one_miss(self) -> None:
        with pytest.raises(ValueError, match="misses"):
            HubReachability(misses=0)
