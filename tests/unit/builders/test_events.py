"""An Event's name: one per thing said, so no two records of a round collide."""

from __future__ import annotations

from datetime import UTC, datetime

from cango_operator.builders.events import EventRecord, Regarding, event_manifest

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
JOB = Regarding("InferenceJob", "vision-1", "tenant-acme", "uid-1")


def name(record: EventRecord, now: datetime = NOW) -> str:
    body = event_manifest(record, controller="c", instance="i", now=now)
    return str(body["metadata"]["name"])


def test_two_things_said_of_one_object_for_one_reason_at_once_get_two_names() -> None:
    # One round evicting a job's replicas from two nodes: both Events are posted.
    from_a = EventRecord(JOB, "Evicted", "Evict", "1 replica stopped on node-a: power")
    from_b = EventRecord(JOB, "Evicted", "Evict", "1 replica stopped on node-b: power")
    assert name(from_a) != name(from_b)
    assert name(from_a).startswith("vision-1.")


def test_the_same_thing_said_again_at_once_has_the_same_name_and_later_another() -> None:
    record = EventRecord(JOB, "Evicted", "Evict", "1 replica stopped on node-a: power")
    again = EventRecord(JOB, "Evicted", "Evict", "1 replica stopped on node-a: power")
    assert name(record) == name(again)
    assert name(record) != name(record, NOW.replace(second=1))
