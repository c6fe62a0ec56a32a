"""Serialization round trip of every model (issue 2: structure(unstructure(x)) == x)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdomain.errors import CcdomainError, InvalidData
from ccdomain.models import Contact
from ccdomain.serialization import from_json, structure, to_json, unstructure
from ccdomain.testing.strategies import MODEL_STRATEGIES


@pytest.mark.parametrize("cls", list(MODEL_STRATEGIES), ids=lambda c: c.__name__)
def test_serialized_model_reads_back_equal(cls: type) -> None:
    @settings(max_examples=60, deadline=None)
    @given(MODEL_STRATEGIES[cls])
    def check(model: Any) -> None:
        assert structure(unstructure(model), cls) == model
        assert from_json(to_json(model), cls) == model

    check()


@pytest.mark.parametrize("cls", list(MODEL_STRATEGIES), ids=lambda c: c.__name__)
def test_E1_junk_json_raises_invalid_data(cls: type) -> None:
    @settings(max_examples=40, deadline=None)
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        )
    )
    def check(data: Any) -> None:
        try:
            structure(data, cls)
        except CcdomainError as exc:
            assert isinstance(exc, InvalidData)

    check()


def test_E1_non_json_text_names_the_value() -> None:
    with pytest.raises(InvalidData, match="'not json'"):
        from_json("not json", Contact)


class _HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_E1_messages_survive_a_value_whose_repr_fails() -> None:
    from ccdomain.errors import show
    from ccdomain.matching import normalize_phone

    assert show(_HostileRepr()) == "<_HostileRepr object>"
    with pytest.raises(CcdomainError, match="_HostileRepr"):
        normalize_phone(_HostileRepr(), "PE")
