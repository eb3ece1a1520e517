"""The table of malformed manifests, judged by the models alone (no API server).

tests/integration/test_api_server.py runs the same table against the generated CRDs:
together they show the models and the API server reject the same things."""

from __future__ import annotations

import pytest

from cango_operator.api import RESOURCES, parse_resource
from cango_operator.api.base import RuleModel
from cango_operator.errors import ManifestError
from tests.api_manifests import MALFORMED, VALID_EDGES, Case


def _rule_models() -> list[type[RuleModel]]:
    seen: list[type[RuleModel]] = []

    def walk(model: type[RuleModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for info in model.model_fields.values():
            for sub in _models_in(info.annotation):
                walk(sub)

    for resource in RESOURCES:
        walk(resource)
    return seen


def _models_in(annotation: object) -> list[type[RuleModel]]:
    if isinstance(annotation, type) and issubclass(annotation, RuleModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_the_table_covers_all_kinds_and_is_big_enough() -> None:
    kinds = {case.kind for case in MALFORMED}
    assert kinds == {"Site", "GpuNode", "InferenceJob"}
    assert len(MALFORMED) >= 40
    assert len({case.id for case in MALFORMED + VALID_EDGES}) == len(MALFORMED + VALID_EDGES)


@pytest.mark.parametrize("case", MALFORMED, ids=lambda c: c.id)
def test_the_models_reject_each_defect_naming_the_field(case: Case) -> None:
    with pytest.raises(ManifestError) as exc:
        parse_resource(case.manifest(), source=f"{case.id}.yaml")
    message = str(exc.value)
    assert message.startswith(f"{case.id}.yaml: {case.kind} ")
    assert case.field in message
    assert case.says in message


@pytest.mark.parametrize("case", VALID_EDGES, ids=lambda c: c.id)
def test_the_models_accept_each_edge_case(case: Case) -> None:
    assert parse_resource(case.manifest()).kind == case.kind


def test_every_cross_field_rule_is_broken_by_some_case() -> None:
    messages = []
    for case in MALFORMED:
        with pytest.raises(ManifestError) as exc:
            parse_resource(case.manifest())
        messages.append(str(exc.value))
    rules = [rule for model in _rule_models() for rule, _ in model.cel_rules()]
    assert len(rules) >= 12
    untested = [r.message for r in rules if not any(r.message in m for m in messages)]
    assert untested == []
