"""The scenario format: the shipped scenario, times of day, and errors that name the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from cango_operator.demo.scenario import (
    DEFAULT_SCENARIO,
    CurtailmentEvent,
    GpuFailureEvent,
    PriceSpikeEvent,
    StormEvent,
    format_time_of_day,
    load_scenario,
    parse_scenario,
    parse_time_of_day,
)
from cango_operator.errors import ManifestError

SMALL: dict[str, Any] = {
    "name": "tiny",
    "day": {"lengthHours": 2, "defaultSpeed": 600},
    "gpuModels": {"H100-80GB": {"memoryMiB": 81559, "maxPowerW": 700}},
    "sites": [
        {
            "name": "tx-1",
            "region": "north-america",
            "capacityKw": 1000,
            "reserveKw": 50,
            "energyPriceUsdPerMwh": 35,
            "mining": {"loadKw": 900, "curtailableKw": 40},
            "latencyMs": {"north-america": 20},
            "nodes": [{"model": "H100-80GB", "count": 2}],
        }
    ],
    "tenants": [
        {
            "name": "acme",
            "jobs": [
                {
                    "name": "chat",
                    "submitAt": "00:10",
                    "replicas": 2,
                    "clientRegion": "north-america",
                    "maxLatencyMs": 50,
                }
            ],
        }
    ],
    "events": [
        {
            "type": "storm",
            "name": "storm",
            "start": "00:30",
            "end": "01:00",
            "sites": ["tx-1"],
        },
        {"type": "gpuFailure", "name": "xid", "at": "01:10", "node": "tx-1-n002", "gpu": 7},
    ],
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """SMALL with the value at a dotted path (list indexes as numbers) replaced."""
    doc = copy.deepcopy(SMALL)
    *parents, last = path.split(".")
    node: Any = doc
    for step in parents:
        node = node[int(step)] if step.isdigit() else node[step]
    node[int(last) if last.isdigit() else last] = value
    return doc


def error_of(doc: Any) -> str:
    with pytest.raises(ManifestError) as caught:
        parse_scenario(doc, "s.yaml")
    return str(caught.value)


class TestTheShippedScenario:
    def test_it_is_a_fleet_of_about_forty_sites_in_four_regions(self) -> None:
        scenario = load_scenario(DEFAULT_SCENARIO)
        assert 35 <= len(scenario.sites) <= 45
        assert {s.region for s in scenario.sites} == {
            "north-america",
            "middle-east",
            "south-america",
            "east-africa",
        }
        total_mw = sum(s.capacity_kw for s in scenario.sites) / 1000
        assert 10 <= total_mw <= 100

    def test_it_is_sized_for_kwok_on_two_cores(self) -> None:
        scenario = load_scenario(DEFAULT_SCENARIO)
        nodes = sum(len(s.node_names()) for s in scenario.sites)
        replicas = sum(j.replicas for _, j in scenario.jobs())
        assert 120 <= nodes <= 200
        assert 100 <= replicas <= 300
        assert {g.model for s in scenario.sites for g in s.nodes} == {
            "H100-80GB",
            "H200-141GB",
            "A100-80GB",
            "L40S-48GB",
        }

    def test_it_has_each_kind_of_event(self) -> None:
        scenario = load_scenario(DEFAULT_SCENARIO)
        kinds = {type(e) for e in scenario.events}
        assert kinds == {StormEvent, CurtailmentEvent, GpuFailureEvent, PriceSpikeEvent}
        storm = next(e for e in scenario.events if isinstance(e, StormEvent))
        assert len(storm.sites) >= 3
        assert all(scenario.site(s).region == "north-america" for s in storm.sites)
        assert storm.end - storm.start >= 3600

    def test_it_plays_in_four_to_six_minutes_by_default(self) -> None:
        day = load_scenario(DEFAULT_SCENARIO).day
        assert 4 * 60 <= day.length_seconds / day.default_speed <= 6 * 60


class TestTimesOfDay:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("00:00", 0), ("06:30", 23400), ("6:30", 23400), ("23:59:59", 86399), (90, 90)],
    )
    def test_hours_minutes_and_seconds_are_read(self, text: object, seconds: float) -> None:
        assert parse_time_of_day(text) == seconds

    @pytest.mark.parametrize("text", ["6h", "06:60", "12:00:75", "", True, -5, None])
    def test_anything_else_is_refused(self, text: object) -> None:
        with pytest.raises(ValueError, match=r"time like|must|expected"):
            parse_time_of_day(text)

    def test_seconds_format_back_as_hours_and_minutes(self) -> None:
        assert format_time_of_day(23400) == "06:30"
        assert format_time_of_day(86399) == "23:59"


class TestAValidScenario:
    def test_nodes_are_named_after_their_site_in_order(self) -> None:
        scenario = parse_scenario(SMALL)
        assert [n for n, _ in scenario.sites[0].node_names()] == ["tx-1-n001", "tx-1-n002"]

    def test_times_are_seconds_from_the_start_of_the_day(self) -> None:
        scenario = parse_scenario(SMALL)
        assert scenario.jobs()[0][1].submit_at == 600
        assert scenario.events[0].start == 1800

    def test_a_file_is_read_from_disk(self, tmp_path: Path) -> None:
        f = tmp_path / "s.yaml"
        f.write_text(
            "name: tiny\ngpuModels: {L4-24GB: {memoryMiB: 23034, maxPowerW: 72}}\n"
            "sites: [{name: a, region: r, capacityKw: 10, energyPriceUsdPerMwh: 1,\n"
            "  mining: {loadKw: 1}, latencyMs: {r: 1}}]\n"
        )
        assert load_scenario(f).sites[0].name == "a"


class TestErrorsNameTheField:
    def test_a_missing_required_field(self) -> None:
        doc = copy.deepcopy(SMALL)
        del doc["sites"][0]["capacityKw"]
        assert "s.yaml: sites[0].capacityKw: Field required" in error_of(doc)

    def test_an_unknown_field_is_refused_rather_than_ignored(self) -> None:
        assert "sites[0].capacityMw: Extra inputs are not permitted" in error_of(
            changed("sites.0.capacityMw", 3)
        )

    def test_a_bad_time_names_the_job(self) -> None:
        assert "tenants[0].jobs[0].submitAt: expected a time like '06:30'" in error_of(
            changed("tenants.0.jobs.0.submitAt", "ten past")
        )

    def test_reserve_must_be_below_capacity(self) -> None:
        assert "reserveKw (1000.0) must be less than capacityKw" in error_of(
            changed("sites.0.reserveKw", 1000)
        )

    def test_curtailable_mining_cannot_exceed_mining(self) -> None:
        assert "sites[0].mining: curtailableKw (950.0) must not exceed loadKw" in error_of(
            changed("sites.0.mining.curtailableKw", 950)
        )

    def test_an_event_ending_before_it_starts(self) -> None:
        assert "events[0]: end must be after start" in error_of(changed("events.0.end", "00:20"))

    def test_an_event_at_an_unknown_site(self) -> None:
        assert "events[0]: site 'tx-9' is not in sites" in error_of(
            changed("events.0.sites", ["tx-9"])
        )

    def test_a_gpu_failure_on_a_node_that_does_not_exist(self) -> None:
        assert "events[1].node: 'tx-1-n003' is not a node of any site" in error_of(
            changed("events.1.node", "tx-1-n003")
        )

    def test_a_gpu_index_the_node_does_not_have(self) -> None:
        assert "events[1].gpu: a node it may pick has 8 GPUs, no index 8" in error_of(
            changed("events.1.gpu", 8)
        )

    def test_a_gpu_failure_names_a_node_or_a_site_not_both(self) -> None:
        assert "events[1]: give node or site, not both" in error_of(
            changed("events.1.site", "tx-1")
        )

    def test_a_gpu_failure_at_an_unknown_site(self) -> None:
        doc = changed("events.1.site", "tx-9")
        del doc["events"][1]["node"]
        message = error_of(doc)
        assert "events[1]: site 'tx-9' is not in sites" in message

    def test_an_unknown_event_type_names_the_allowed_ones(self) -> None:
        message = error_of(changed("events.0.type", "earthquake"))
        assert "events[0]" in message
        assert "'storm', 'curtailment', 'priceSpike', 'gpuFailure'" in message

    def test_a_gpu_model_no_one_declared(self) -> None:
        assert "sites[0].nodes[0].model: 'B200-180GB' is not in gpuModels" in error_of(
            changed("sites.0.nodes.0.model", "B200-180GB")
        )

    def test_a_client_region_no_site_has_a_latency_to(self) -> None:
        assert "tenants[0].jobs[0].clientRegion: no site declares a latency to 'europe'" in (
            error_of(changed("tenants.0.jobs.0.clientRegion", "europe"))
        )

    def test_a_name_given_twice(self) -> None:
        doc = copy.deepcopy(SMALL)
        doc["sites"].append(copy.deepcopy(doc["sites"][0]))
        assert "sites: 'tx-1' is given more than once" in error_of(doc)

    def test_a_submission_after_the_day_ends(self) -> None:
        assert "tenants[0].jobs[0].submitAt: after the day's end" in error_of(
            changed("tenants.0.jobs.0.submitAt", "03:00")
        )

    def test_a_document_that_is_not_a_mapping(self) -> None:
        assert error_of(["sites"]) == "s.yaml: expected a mapping at the top, got list"

    def test_an_unreadable_file_names_the_path(self, tmp_path: Path) -> None:
        with pytest.raises(ManifestError, match=r"nope\.yaml: cannot read the scenario"):
            load_scenario(tmp_path / "nope.yaml")

    def test_invalid_yaml_names_the_path(self, tmp_path: Path) -> None:
        f = tmp_path / "bad.yaml"
        f.write_text("sites: [\n")
        with pytest.raises(ManifestError, match=r"bad\.yaml: not valid YAML"):
            load_scenario(f)
