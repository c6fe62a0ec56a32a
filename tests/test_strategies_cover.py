"""The shipped strategies (``ccdomain.testing.strategies``) cover their records.

The invariant properties (a serialized model reads back equal, every store keeps
what it is given) only exercise the fields the strategies set: a field added to
a record but not to its strategy goes untested without a sound. These tests
fail when a strategy never gives a field of its record a value other than its
default, when a public record has no strategy, and when a strategy draws a
campaign or line the library's own builders would refuse or rewrite.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings

import ccdomain.events
import ccdomain.models
from ccdomain.models import Campaign, Line, ServiceLevels, WeeklySchedule
from ccdomain.rules.contact_policy import parse_contact_hours, parse_stop_words
from ccdomain.rules.contacts import make_campaign, make_line
from ccdomain.rules.hours import hours_spec, parse_hours
from ccdomain.rules.service_levels import service_levels_from
from ccdomain.testing import strategies as cst
from ccdomain.testing.strategies import MODEL_STRATEGIES

#: Public records with no strategy of their own, and why.
WITHOUT_STRATEGY: dict[type, str] = {
    ccdomain.models.AgingBucket: "derived from Campaign.buckets, whose strategy covers it",
    ccdomain.models.CollectionsPolicy: "derived from a Campaign's collections fields",
}

_EXAMPLES = 300


class _AllSet(Exception):
    """Every field has been seen with a non-default value: no need to draw more."""


def _default(field: attrs.Attribute[Any]) -> Any:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()  # type: ignore[union-attr]
    return default


def _fields_never_set(cls: type, examples: int = _EXAMPLES) -> list[str]:
    """The fields of ``cls`` that ``MODEL_STRATEGIES[cls]`` left at their default in
    every example of a fixed (derandomized) run of at most ``examples``."""
    defaults = {f.name: _default(f) for f in attrs.fields(cls) if f.default is not attrs.NOTHING}
    unseen = set(defaults)

    # Generation only (no shrinking): _AllSet ends the run as soon as nothing is left.
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(MODEL_STRATEGIES[cls])
    def draw(model: Any) -> None:
        unseen.difference_update(
            [name for name in unseen if getattr(model, name) != defaults[name]]
        )
        if not unseen:
            raise _AllSet

    try:
        draw()
    except _AllSet:
        return []
    return sorted(unseen)


_RECORDS = [cls for cls in MODEL_STRATEGIES if attrs.has(cls)]


@pytest.mark.parametrize("cls", _RECORDS, ids=lambda c: c.__name__)
def test_each_strategy_sets_every_field_of_its_record(cls: type) -> None:
    assert _fields_never_set(cls) == [], (
        f"the strategy of {cls.__name__} never sets these fields: add them to "
        "ccdomain.testing.strategies"
    )


def test_every_public_record_and_payload_has_a_strategy() -> None:
    public = {
        getattr(module, name)
        for module in (ccdomain.models, ccdomain.events)
        for name in module.__all__
        if isinstance(getattr(module, name), type) and attrs.has(getattr(module, name))
    }
    missing = sorted(
        cls.__name__
        for cls in public
        if cls not in MODEL_STRATEGIES and cls not in WITHOUT_STRATEGY
    )
    assert missing == []
    assert not set(WITHOUT_STRATEGY) & set(MODEL_STRATEGIES)


def test_the_coverage_check_reports_a_field_its_strategy_never_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The strategy of before the last wave: campaigns without any of the later fields.
    monkeypatch.setitem(
        MODEL_STRATEGIES, Campaign, cst.campaigns().map(lambda c: Campaign(id=c.id, name=c.name))
    )
    never_set = _fields_never_set(Campaign, examples=40)
    assert "hours" in never_set and "stop_words" in never_set and "name" not in never_set


def _own_fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in attrs.fields(type(record))}


@settings(max_examples=150, deadline=None)
@given(cst.campaigns(), cst.lines())
def test_drawn_campaigns_and_lines_read_back_unchanged_through_their_builders(
    campaign: Campaign, line: Line
) -> None:
    # A strategy value the builders refuse or rewrite would test the stores on
    # records the library never writes (or miss the ones it does).
    assert make_campaign(**_own_fields(campaign)) == campaign
    assert make_line(**_own_fields(line)) == line
    assert parse_contact_hours(campaign.contact_hours) == campaign.contact_hours
    assert parse_stop_words(campaign.stop_words) == campaign.stop_words


@settings(max_examples=100, deadline=None)
@given(cst.weekly_schedules(), cst.service_levels())
def test_drawn_hours_and_service_levels_read_back_unchanged_through_their_parsers(
    schedule: WeeklySchedule, levels: ServiceLevels
) -> None:
    assert parse_hours(hours_spec(schedule)) == schedule
    assert service_levels_from(_own_fields(levels)) == levels
