"""The deprecation helpers keep old names and call shapes working, with a warning."""

from __future__ import annotations

import inspect

import pytest

from ccdomain._deprecation import accepts_old_call, deprecated_alias


@accepts_old_call(("number", "agent"), renamed={"actor": "agent"})
def close_thing(store: object, *, number: int, agent: str) -> tuple[object, int, str]:
    return store, number, agent


def test_new_call_shape_does_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    assert close_thing("s", number=1, agent="ana") == ("s", 1, "ana")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_old_positional_and_keyword_calls_warn_and_work() -> None:
    with pytest.warns(DeprecationWarning, match=r"positional number, agent.*1\.0"):
        assert close_thing("s", 2, "bo") == ("s", 2, "bo")
    with pytest.warns(DeprecationWarning, match="actor="):
        assert close_thing("s", number=3, actor="cy") == ("s", 3, "cy")


def test_old_call_with_a_value_twice_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="multiple values"):
        close_thing("s", 2, number=2, agent="x")
    with pytest.raises(TypeError, match="both"):
        close_thing("s", number=2, agent="x", actor="y")


def test_alias_warns_names_the_replacement_and_shows_the_new_signature() -> None:
    old = deprecated_alias(close_thing, "shut_thing", positional=("number",))
    with pytest.warns(DeprecationWarning, match=r"shut_thing\(\).*close_thing\(\)"):
        assert old("s", 4, agent="d") == ("s", 4, "d")
    assert old.__name__ == "shut_thing"
    assert list(inspect.signature(old).parameters) == ["store", "number", "agent"]
