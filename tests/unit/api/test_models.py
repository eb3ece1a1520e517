"""The models read and write the contract's manifests: names, defaults, types, rules."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from cango_operator.agent import status as agent_status
from cango_operator.api import (
    API_VERSION,
    GROUP,
    RESOURCES,
    VERSION,
    ConditionStatus,
    FeedType,
    GpuNode,
    GpuNodePhase,
    InferenceJob,
    JobPhase,
    LoadScope,
    Mining,
    Objective,
    PlacementSpec,
    PowerFeed,
    RuleViolation,
    Site,
    SitePhase,
    SitePower,
    WordOrder,
    crd_manifest,
    rfc3339,
)
from cango_operator.api import conditions as api_conditions
from cango_operator.api.base import to_camel
from cango_operator.power import model as power_model
from tests.unit.api.contract import (
    CONTRACT_ENUMS,
    CONTRACT_FIELDS,
    GPUNODE_EXAMPLE,
    JOB_EXAMPLE,
    SITE_EXAMPLE,
    schema_at,
)

EXAMPLES = {"Site": SITE_EXAMPLE, "GpuNode": GPUNODE_EXAMPLE, "InferenceJob": JOB_EXAMPLE}
MODELS: dict[str, type[Site] | type[GpuNode] | type[InferenceJob]] = {
    "Site": Site,
    "GpuNode": GpuNode,
    "InferenceJob": InferenceJob,
}


def _schema(kind: str) -> dict[str, Any]:
    crd = crd_manifest(MODELS[kind])
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


class TestWireNames:
    def test_group_and_version_are_the_contracts(self) -> None:
        assert (GROUP, VERSION, API_VERSION) == (
            "compute.cango.io",
            "v1alpha1",
            "compute.cango.io/v1alpha1",
        )
        for model in RESOURCES:
            assert model.model_fields["api_version"].default == API_VERSION

    @pytest.mark.parametrize("kind", list(CONTRACT_FIELDS))
    def test_every_field_the_contract_names_is_in_the_schema(self, kind: str) -> None:
        schema = _schema(kind)
        missing = []
        for path in CONTRACT_FIELDS[kind]:
            try:
                schema_at(schema, path)
            except KeyError:
                missing.append(path)
        assert missing == []

    @pytest.mark.parametrize("where", list(CONTRACT_ENUMS))
    def test_enums_hold_exactly_the_contracts_values(self, where: str) -> None:
        kind, path = where.split(".", 1)
        assert schema_at(_schema(kind), path)["enum"] == CONTRACT_ENUMS[where]

    def test_python_enums_match_the_contract(self) -> None:
        assert [p.value for p in SitePhase] == CONTRACT_ENUMS["Site.status.phase"]
        assert [p.value for p in GpuNodePhase] == CONTRACT_ENUMS["GpuNode.status.phase"]
        assert [p.value for p in JobPhase] == CONTRACT_ENUMS["InferenceJob.status.phase"]
        assert [t.value for t in FeedType] == CONTRACT_ENUMS["Site.spec.power.feed.type"]
        assert [o.value for o in Objective] == CONTRACT_ENUMS[
            "InferenceJob.spec.placement.objective"
        ]
        assert SitePhase.READY == "Ready"

    @pytest.mark.parametrize(
        ("python", "wire"),
        [
            ("capacity_kw", "capacityKw"),
            ("memory_mib", "memoryMiB"),
            ("min_memory_mib", "minMemoryMiB"),
            ("energy_price_usd_per_mwh", "energyPriceUsdPerMwh"),
            ("ecc_double_bit_errors", "eccDoubleBitErrors"),
            ("cordoned", "cordoned"),
        ],
    )
    def test_units_stay_in_the_names(self, python: str, wire: str) -> None:
        assert to_camel(python) == wire

    def test_python_code_uses_snake_case(self) -> None:
        power = SitePower(capacity_kw=100, reserve_kw=5)
        assert _dump(power) == {"capacityKw": 100, "reserveKw": 5, "pue": 1.0}


class TestRoundTrip:
    @pytest.mark.parametrize("kind", list(EXAMPLES))
    def test_the_contract_example_reads_and_dumps_back_unchanged(self, kind: str) -> None:
        example = EXAMPLES[kind]
        obj = MODELS[kind].model_validate(example)
        dumped = _dump(obj)
        expected = copy.deepcopy(example)
        if kind == "GpuNode":  # null means "no XID": exclude_none leaves it out
            del expected["status"]["gpus"][0]["lastXid"]
        # Defaults are spelled out in the dump; everything the example gives is kept.
        assert _contains(dumped, expected), dumped
        assert MODELS[kind].model_validate(dumped) == obj

    def test_a_fully_written_manifest_dumps_back_exactly(self) -> None:
        doc = copy.deepcopy(SITE_EXAMPLE)
        del doc["status"]
        doc["spec"]["power"]["feed"] = {
            "type": "modbus",
            "host": "10.0.0.5",
            "port": 502,
            "unitId": 3,
            "register": 4096,
            "registerType": "input",
            "dataType": "float32",
            "wordOrder": "little",
            "scale": 0.001,
            "capacityRegister": 4098,
            "curtailedRegister": 4100,
            "intervalSeconds": 5,
            "staleAfterSeconds": 30,
            "timeoutSeconds": 2.5,
            "retries": 3,
            "loadScope": "mining",
        }
        doc["spec"]["mining"] |= {
            "miners": [{"firmware": "luxos", "addresses": ["10.0.1.11", "10.0.1.12:4029"]}],
            "ramp": {"batchSize": 10, "batchIntervalSeconds": 15.0},
            "shedOrder": "SleepFirst",
        }
        assert _dump(Site.model_validate(doc)) == doc

    def test_a_gpu_without_xid_keeps_last_xid_null_in_the_crd(self) -> None:
        node = schema_at(_schema("GpuNode"), "status.gpus[].lastXid")
        assert node["nullable"] is True


def _contains(actual: Any, expected: Any) -> bool:
    """``expected`` is ``actual`` with some defaulted keys left out."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


class TestDefaults:
    def test_a_minimal_site_gets_the_documented_defaults(self) -> None:
        site = Site.model_validate(
            {
                "apiVersion": API_VERSION,
                "kind": "Site",
                "metadata": {"name": "s"},
                "spec": {"region": "r", "power": {"capacityKw": 10}},
            }
        )
        assert site.spec.power.reserve_kw == 0
        assert site.spec.power.pue == 1.0
        assert site.spec.power.feed is None
        assert (site.spec.mining.load_kw, site.spec.mining.curtailable_kw) == (0, 0)
        assert site.spec.cordoned is False
        assert site.spec.latency_ms == {}
        assert site.status is None

    def test_a_feed_gets_its_documented_defaults(self) -> None:
        feed = PowerFeed.model_validate({"type": "modbus", "host": "m", "register": 1})
        assert (feed.interval_seconds, feed.stale_after_seconds) == (15, 90)
        assert (feed.port, feed.unit_id, feed.scale) == (502, 1, 1.0)
        assert (feed.retries, feed.load_scope, feed.word_order) == (
            2,
            LoadScope.SITE,
            WordOrder.BIG,
        )
        assert feed.timeout_seconds is None  # the feed takes 10 s or the interval, if shorter
        assert (feed.capacity_register, feed.curtailed_register) == (None, None)

    def test_a_minimal_job_gets_the_documented_defaults(self) -> None:
        job = InferenceJob.model_validate(
            {
                "apiVersion": API_VERSION,
                "kind": "InferenceJob",
                "metadata": {"name": "j"},
                "spec": {"container": {"image": "x"}},
            }
        )
        spec = job.spec
        assert (spec.replicas, spec.gpu.count, spec.gpu.models) == (1, 1, [])
        assert spec.estimated_power_w is None  # the engine computes it from the node
        assert spec.placement == PlacementSpec(
            min_sites=1, max_replicas_per_site=0, objective=Objective.BALANCED
        )
        assert (spec.priority, spec.preemptible, spec.container.port) == (0, False, 8000)

    @pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
    def test_every_python_default_is_the_crd_default(self, model: type[BaseModel]) -> None:
        schema = crd_manifest(model)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        spec_schema = schema["properties"]["spec"]
        compared = _compare_defaults(model.model_fields["spec"].annotation, spec_schema, "spec")
        assert compared > 0

    def test_sub_objects_that_default_are_spelled_out_in_the_crd(self) -> None:
        mining = schema_at(_schema("Site"), "spec.mining")
        empty: tuple[object, ...] = ([], {})
        assert mining["default"] == {k: v for k, v in _dump(Mining()).items() if v not in empty}
        placement = schema_at(_schema("InferenceJob"), "spec.placement")
        assert placement["default"]["objective"] == "balanced"


def _compare_defaults(model: Any, schema: dict[str, Any], path: str) -> int:
    """Walk a spec model and its schema together; assert each scalar default agrees."""
    compared = 0
    for name, info in model.model_fields.items():
        alias = info.alias or name
        prop = schema["properties"][alias]
        where = f"{path}.{alias}"
        if info.default_factory is None and info.default is not None and not info.is_required():
            default = info.default.value if hasattr(info.default, "value") else info.default
            assert prop.get("default") == default, where
            compared += 1
        elif info.is_required() or (info.default is None and info.default_factory is None):
            assert "default" not in prop, f"{where}: the CRD defaults a field Python does not"
        sub = _model_in(info.annotation)
        if sub is not None:
            compared += _compare_defaults(sub, prop.get("items", prop), where)
    return compared


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class TestStrictSpecs:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("count", "8"), ("count", 8.0), ("count", True), ("memory_mib", "81559")],
    )
    def test_specs_take_no_strings_for_numbers(self, field: str, value: object) -> None:
        gpu = {"model": "A", "count": 8, "memoryMiB": 1, "maxPowerW": 1}
        gpu[to_camel(field)] = value
        with pytest.raises(ValidationError):
            GpuNode.model_validate(
                {**GPUNODE_EXAMPLE, "spec": {**GPUNODE_EXAMPLE["spec"], "gpu": gpu}}
            )

    def test_integers_are_fine_where_numbers_are_asked(self) -> None:
        assert SitePower.model_validate({"capacityKw": 20000}).capacity_kw == 20000.0

    def test_booleans_must_be_booleans(self) -> None:
        with pytest.raises(ValidationError, match="cordoned"):
            Site.model_validate(
                {**SITE_EXAMPLE, "spec": {**SITE_EXAMPLE["spec"], "cordoned": "false"}}
            )

    def test_enums_are_read_from_their_strings(self) -> None:
        assert PowerFeed.model_validate({"type": "static"}).type is FeedType.STATIC


class TestLenientStatus:
    def test_unknown_status_fields_are_ignored(self) -> None:
        doc = copy.deepcopy(GPUNODE_EXAMPLE)
        doc["status"]["fromANewerAgent"] = {"x": 1}
        node = GpuNode.model_validate(doc)
        assert node.status is not None
        assert "fromANewerAgent" not in _dump(node)["status"]

    def test_status_numbers_written_as_strings_are_coerced(self) -> None:
        doc = copy.deepcopy(GPUNODE_EXAMPLE)
        doc["status"]["powerW"] = "3400"
        node = GpuNode.model_validate(doc)
        assert node.status is not None
        assert node.status.power_w == 3400.0

    def test_conditions_have_the_metav1_shape(self) -> None:
        doc = copy.deepcopy(SITE_EXAMPLE)
        doc["status"]["conditions"] = [
            {
                "type": "PowerFeedHealthy",
                "status": "False",
                "reason": "Stale",
                "message": "no sample for 120s",
                "lastTransitionTime": "2026-01-05T10:00:00Z",
                "observedGeneration": 3,
            }
        ]
        site = Site.model_validate(doc)
        assert site.status is not None
        condition = site.status.conditions[0]
        assert condition.status is ConditionStatus.FALSE
        assert _dump(condition)["lastTransitionTime"] == "2026-01-05T10:00:00Z"
        conditions = schema_at(_schema("Site"), "status.conditions")
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert set(conditions["items"]["required"]) == {
            "type",
            "status",
            "reason",
            "message",
            "lastTransitionTime",
        }


class TestFeedFieldsOfOneFeedType:
    @pytest.mark.parametrize(
        ("feed_type", "fields"),
        [
            ("http", ["jsonPath", "capacityPath", "curtailedPath", "pricePath", "timestampPath"]),
            ("prometheus", ["query", "capacityQuery", "curtailedQuery", "priceQuery"]),
            ("modbus", ["host", "register", "capacityRegister", "curtailedRegister"]),
        ],
    )
    def test_each_is_refused_on_every_other_type_naming_it(
        self, feed_type: str, fields: list[str]
    ) -> None:
        values = {"register": 1, "capacityRegister": 2, "curtailedRegister": 3}
        for other in [t.value for t in FeedType if t.value != feed_type]:
            required = {
                "http": {"url": "http://m/"},
                "prometheus": {"url": "http://p/", "query": "x"},
                "modbus": {"host": "m", "register": 1},
                "static": {},
            }[other]
            for name in fields:
                block = {"type": other, **required, name: values.get(name, "a.b")}
                with pytest.raises(ValidationError) as exc:
                    PowerFeed.model_validate(block)
                violations = exc.value.errors()[0]["ctx"]["error"].violations
                assert (name, f"{name} applies only to {feed_type} feeds") in violations

    def test_fields_with_defaults_stay_allowed_on_every_type(self) -> None:
        # what a dump of an http feed holds: the modbus fields' defaults, and wordOrder's
        feed = PowerFeed.model_validate({"type": "http", "url": "http://m/"})
        again = PowerFeed.model_validate(_dump(feed))
        assert _dump(again)["wordOrder"] == "big" and _dump(again)["port"] == 502

    def test_the_rules_are_in_the_crd_as_cel_naming_the_field(self) -> None:
        rules = schema_at(_schema("Site"), "spec.power.feed")["x-kubernetes-validations"]
        by_field = {r["fieldPath"]: r for r in rules if r.get("reason") == "FieldValueForbidden"}
        assert by_field[".capacityPath"] == {
            "rule": "self.type == 'http' || !has(self.capacityPath)",
            "message": "capacityPath applies only to http feeds",
            "fieldPath": ".capacityPath",
            "reason": "FieldValueForbidden",
        }
        assert by_field[".secretRef"]["rule"] == (
            "self.type in ['http', 'prometheus'] || !has(self.secretRef)"
        )
        assert len(by_field) == 15


class TestCrossFieldRulesInPython:
    def test_a_rule_violation_names_the_field(self) -> None:
        with pytest.raises(ValidationError) as exc:
            SitePower(capacity_kw=100, reserve_kw=100)
        cause = exc.value.errors()[0]["ctx"]["error"]
        assert isinstance(cause, RuleViolation)
        assert cause.violations == [("reserveKw", "reserveKw must be less than capacityKw")]

    def test_every_violated_rule_of_an_object_is_reported(self) -> None:
        with pytest.raises(ValidationError) as exc:
            PowerFeed.model_validate({"type": "modbus"})
        cause = exc.value.errors()[0]["ctx"]["error"]
        assert [field for field, _ in cause.violations] == ["host", "register"]

    def test_rules_run_when_python_code_builds_a_spec(self) -> None:
        with pytest.raises(ValidationError, match="curtailableKw must not exceed loadKw"):
            Mining(load_kw=10, curtailable_kw=20)

    @pytest.mark.parametrize("model", [SitePower, Mining, PowerFeed, PlacementSpec])
    def test_each_rule_is_in_the_models_json_schema(self, model: type[SitePower]) -> None:
        rules = model.model_json_schema()["x-kubernetes-validations"]
        assert [r["rule"] for r in rules] == [rule.rule for rule, _ in model.cel_rules()]


class TestOneTimeFormat:
    def test_times_are_whole_seconds_in_utc_as_kubernetes_writes_them(self) -> None:
        moment = datetime(2026, 11, 22, 17, 4, 5, 987654, tzinfo=timezone(timedelta(hours=2)))
        assert rfc3339(moment) == "2026-11-22T15:04:05Z"

    def test_the_operator_the_feeds_and_the_agent_write_times_the_same_way(self) -> None:
        for module in (agent_status, api_conditions, power_model):
            assert module.rfc3339 is rfc3339
