"""The two kinds of model every resource is made of, and the cross-field rules they carry.

``SpecModel``: what people write. Strict (``"5"`` is not an integer, ``yes`` is not a
boolean, just as the API server judges it) and closed (an unknown field is a typo and an
error). ``StatusModel``: what the operator and agents write. Lenient: unknown fields are
ignored, so an older reader survives a newer writer.

Python attributes are snake_case; the wire names are the camelCase names of the API
contract, with units kept in the name (``capacity_kw`` <-> ``capacityKw``,
``memory_mib`` <-> ``memoryMiB``).

Cross-field rules are declared once, beside the fields, with :func:`cel_rule`: the CEL
expression goes into the CRD (``x-kubernetes-validations``), the decorated method runs
when the model validates in Python. Both sides are exercised against the same table of
malformed manifests in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.config import JsonDict

#: Word pieces whose camelCase spelling is not just "capitalise the first letter".
_SPECIAL_WORDS = {"mib": "MiB"}


def to_camel(name: str) -> str:
    """``capacity_kw`` -> ``capacityKw``; ``min_memory_mib`` -> ``minMemoryMiB``."""
    first, *rest = name.split("_")
    return first + "".join(_SPECIAL_WORDS.get(word, word[:1].upper() + word[1:]) for word in rest)


@dataclass(frozen=True)
class CelRule:
    """One ``x-kubernetes-validations`` entry.

    ``field`` is the camelCase name (or dotted path) of the field the rule is about,
    relative to the object that carries the rule; the API server and the Python check
    both report the violation at that path.
    """

    rule: str
    message: str
    field: str | None = None
    reason: str = "FieldValueInvalid"

    def to_schema(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"rule": self.rule, "message": self.message}
        if self.field is not None and self.field.startswith("metadata."):
            # The API server takes no fieldPath into metadata: the message names the field.
            out["message"] = f"{self.field}: {self.message}"
        elif self.field is not None:
            out["fieldPath"] = "." + self.field
        if self.reason != "FieldValueInvalid":
            out["reason"] = self.reason
        return out


_RULE_ATTR = "__cango_cel_rule__"
_Check = TypeVar("_Check", bound=Callable[[Any], bool])


def cel_rule(
    rule: str, *, message: str, field: str | None = None, reason: str = "FieldValueInvalid"
) -> Callable[[_Check], _Check]:
    """Declare a cross-field rule: ``rule`` in CEL for the API server, the method in Python.

    The method returns True when the object is valid.
    """

    def mark(check: _Check) -> _Check:
        setattr(check, _RULE_ATTR, CelRule(rule, message, field, reason))
        return check

    return mark


class RuleViolation(ValueError):  # noqa: N818 - a ValueError is what pydantic expects
    """Raised from validation when cross-field rules fail; carries (field, message) pairs."""

    def __init__(self, violations: list[tuple[str | None, str]]) -> None:
        self.violations = violations
        super().__init__(
            "; ".join(f"{field}: {msg}" if field else msg for field, msg in violations)
        )


def add_cel_rules_to_schema(schema: JsonDict, model: type[BaseModel]) -> None:
    """``json_schema_extra`` hook: put a model's rules into its JSON schema."""
    if issubclass(model, RuleModel):
        rules: list[JsonValue] = [rule.to_schema() for rule, _ in model.cel_rules()]
        if rules:
            schema["x-kubernetes-validations"] = rules


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python, field docstrings as descriptions."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        json_schema_extra=add_cel_rules_to_schema,
    )


_RULES: dict[type, list[tuple[CelRule, Callable[[Any], bool]]]] = {}


class RuleModel(CamelModel):
    """A model that may declare :func:`cel_rule` methods; they run after field validation."""

    @classmethod
    def cel_rules(cls) -> list[tuple[CelRule, Callable[[Any], bool]]]:
        """The rules declared on this class and its bases, in declaration order (found
        once per class: every validated object asks, thousands in a fleet's manifests)."""
        cached = _RULES.get(cls)
        if cached is None:
            found: dict[str, tuple[CelRule, Callable[[Any], bool]]] = {}
            for klass in reversed(cls.__mro__):
                for name, value in vars(klass).items():
                    rule = getattr(value, _RULE_ATTR, None)
                    if isinstance(rule, CelRule):
                        found[name] = (rule, value)
            cached = _RULES[cls] = list(found.values())
        return cached

    @model_validator(mode="after")
    def _check_cel_rules(self) -> RuleModel:
        failed = [(rule.field, rule.message) for rule, check in self.cel_rules() if not check(self)]
        if failed:
            raise RuleViolation(failed)
        return self


class SpecModel(RuleModel):
    """What people write: strict types, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)


_SpecT = TypeVar("_SpecT", bound=SpecModel)


def defaulted(model: type[_SpecT]) -> Any:
    """A field holding a sub-object that is there even when not written.

    In Python the default is ``model()``; in the CRD it is the same object spelled out,
    so the API server fills it in too and its CEL rules see every defaulted field.
    """
    dumped = model().model_dump(by_alias=True, exclude_none=True, mode="json")
    spelled_out = {k: v for k, v in dumped.items() if v not in ([], {})}
    return Field(default_factory=model, json_schema_extra={"default": spelled_out})


class StatusModel(CamelModel):
    """What the operator and agents write: unknown fields ignored, types coerced."""

    model_config = ConfigDict(extra="ignore")
