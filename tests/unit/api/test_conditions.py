"""The one rule for conditions: a status that did not change keeps its transition time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cango_operator.api import Condition
from cango_operator.api.conditions import Observation, merge_conditions, settle_conditions

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)


def stored(type_: str, status: str) -> dict[str, str]:
    return {
        "type": type_,
        "status": status,
        "reason": "Before",
        "message": "",
        "lastTransitionTime": "2026-11-22T11:00:00Z",
    }


class TestSettle:
    def test_same_status_keeps_the_time_a_change_is_dated_now(self) -> None:
        existing = [Condition.model_validate(stored("A", "True")), stored("B", "True")]
        settled = settle_conditions(
            existing, [Observation("A", True, "Still"), Observation("B", False, "Flipped")], now=NOW
        )
        assert [(c.type, c.last_transition_time) for c in settled] == [("A", EARLIER), ("B", NOW)]

    def test_a_new_condition_is_dated_at_its_source_time_when_known(self) -> None:
        (settled,) = settle_conditions(
            [], [Observation("A", None, "Lapsed", since=EARLIER)], now=NOW
        )
        assert settled.status == "Unknown"
        assert settled.last_transition_time == EARLIER

    def test_a_stored_condition_without_a_usable_time_has_none_to_keep(self) -> None:
        broken = {"type": "A", "status": "True", "lastTransitionTime": "not a time"}
        (settled,) = settle_conditions([broken], [Observation("A", True, "Ok")], now=NOW)
        assert settled.last_transition_time == NOW


class TestMerge:
    def test_others_are_kept_as_read_after_or_before_the_writers_own(self) -> None:
        other = stored("Theirs", "True") | {"extra": "kept"}
        mine = [Observation("Mine", True, "Ok", "fine")]
        after = merge_conditions([other], mine, now=NOW, generation=3)
        assert after == [
            {
                "type": "Mine",
                "status": "True",
                "reason": "Ok",
                "message": "fine",
                "lastTransitionTime": "2026-11-22T12:00:00Z",
                "observedGeneration": 3,
            },
            other,
        ]
        before = merge_conditions([other], mine, now=NOW, others_first=True)
        assert [c["type"] for c in before] == ["Theirs", "Mine"]
        assert "observedGeneration" not in before[1]

    def test_writing_the_same_observation_twice_gives_the_same_list(self) -> None:
        observed = [Observation("A", False, "No", "why")]
        first = merge_conditions([], observed, now=EARLIER)
        assert merge_conditions(first, observed, now=NOW) == first
