"""Identity documents: types, check digits, aliases, contact code (K2, K3)."""

from __future__ import annotations

import doctest

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdomain.documents
from ccdomain.documents import (
    DOCUMENT_TYPES,
    Document,
    DocumentType,
    document_code,
    document_type,
    format_document,
    make_document,
)
from ccdomain.errors import CcdomainError, InvalidDocument

# (type code, number as typed, compact form). Numbers come from python-stdnum's
# own examples or carry check digits that stdnum computed.
VALID = [
    ("DNI", "10117410", "10117410"),
    ("DNI", "12 345 678", "12345678"),
    ("DNI", "00012345", "00012345"),
    ("CE", "001234567", "001234567"),
    ("CE", "ab-1234567890", "AB1234567890"),
    ("RUC", "20512333797", "20512333797"),
    ("RUC", "10054148289", "10054148289"),
    ("RUC", "20100047218", "20100047218"),
    ("PASAPORTE", "AB123456", "AB123456"),
    ("PASAPORTE", "123456", "123456"),
    ("PASAPORTE", "x1234 5678 901", "X12345678901"),
    ("CL_RUT", "76086428-5", "760864285"),
    ("CL_RUT", "12.531.909-2", "125319092"),
    ("CL_RUT", "CL 12531909-2", "125319092"),
    ("CL_RUT", "10.000.013-k", "10000013K"),
    ("CO_NIT", "213.123.432-1", "2131234321"),
    ("CO_NIT", "800197268-4", "8001972684"),
    ("MX_CURP", "BOXW310820HNERXN09", "BOXW310820HNERXN09"),
    ("MX_CURP", "hegg560427mvzrrl04", "HEGG560427MVZRRL04"),
    ("MX_RFC", "GODE 561231 GR8", "GODE561231GR8"),
    ("MX_RFC", "MAB-930714-8T4", "MAB9307148T4"),
    ("MX_RFC", "COMG-600703", "COMG600703"),
    ("AR_CUIT", "20-05536168-2", "20055361682"),
    ("AR_CUIT", "30-50001091-2", "30500010912"),
    ("AR_DNI", "20.123.456", "20123456"),
    ("AR_DNI", "1.234.567", "1234567"),
    ("ES_DNI", "54362315-K", "54362315K"),
    ("ES_DNI", "12345678z", "12345678Z"),
    ("ES_NIE", "x-2482300w", "X2482300W"),
    ("ES_NIE", "Y1234567X", "Y1234567X"),
    ("ES_NIE", "Z 1234567 R", "Z1234567R"),
    ("BR_CPF", "390.533.447-05", "39053344705"),
    ("BR_CPF", "111.444.777-35", "11144477735"),
    ("BR_CNPJ", "16.727.230/0001-97", "16727230000197"),
    ("BR_CNPJ", "11.222.333/0001-81", "11222333000181"),
    ("BR_CNPJ", "12. ABC.345 /01DE\u201335", "12ABC34501DE35"),
    ("EC_CI", "171430710-3", "1714307103"),
    ("EC_CI", "0926687856", "0926687856"),
]

# The same numbers with the last (check) character changed.
WRONG_CHECK_DIGIT = {
    "RUC": "20512333798",
    "CL_RUT": "12531909-3",
    "CO_NIT": "2131234325",
    "MX_CURP": "BOXW310820HNERXN08",
    "AR_CUIT": "20-05536168-3",
    "ES_DNI": "54362315Z",
    "ES_NIE": "x-2482300a",
    "BR_CPF": "390.533.447-06",
    "BR_CNPJ": "16.727.230/0001-98",
    "EC_CI": "1714307104",
}

# Wrong length or characters, one or more per type.
INVALID = [
    ("DNI", "1011741"),
    ("DNI", "101174100"),
    ("DNI", "1011741A"),
    ("DNI", ""),
    ("CE", "12345678"),
    ("CE", "1234567890123"),
    ("CE", "12345678#"),
    ("CE", "ÑAB1234567"),
    ("RUC", "2051233379"),
    ("RUC", "30512333797"),
    ("PASAPORTE", "12345"),
    ("PASAPORTE", "AB12345678901"),
    ("PASAPORTE", "AB1234/56"),
    ("PASAPORTE", "AB12345\u00d1"),
    ("CL_RUT", "76086A28-5"),
    ("CL_RUT", "123456"),
    ("CO_NIT", "1234567"),
    ("CO_NIT", "21312343A1"),
    ("MX_CURP", "BOXW310820HNERXN0"),
    ("MX_CURP", "BOXW311320HNERXN09"),
    ("MX_RFC", "GODE561331GR8"),
    ("MX_RFC", "GODE56123"),
    ("AR_CUIT", "2005536168"),
    ("AR_DNI", "2012345699"),
    ("AR_DNI", "20A23456"),
    ("ES_DNI", "54362315"),
    ("ES_NIE", "X2482300"),
    ("ES_NIE", "A2482300W"),
    ("BR_CPF", "390.533.447=05"),
    ("BR_CPF", "3905334470"),
    ("BR_CNPJ", "16.727.230/0001=97"),
    ("EC_CI", "171430710"),
    ("EC_CI", "9914307103"),
]

ALIASES = [
    ("RUT", "CL_RUT"),
    ("NIT", "CO_NIT"),
    ("CURP", "MX_CURP"),
    ("RFC", "MX_RFC"),
    ("CUIT", "AR_CUIT"),
    ("NIE", "ES_NIE"),
    ("NIF", "ES_DNI"),
    ("CPF", "BR_CPF"),
    ("CNPJ", "BR_CNPJ"),
    ("CI", "EC_CI"),
    ("PASSPORT", "PASAPORTE"),
    ("passport", "PASAPORTE"),
    ("CARNET DE EXTRANJERIA", "CE"),
    ("CARNE DE EXTRANJERIA", "CE"),
    ("Carné de Extranjería", "CE"),
    ("carne-de-extranjeria", "CE"),
    ("cl-rut", "CL_RUT"),
    ("CL RUT", "CL_RUT"),
    ("cl_rut", "CL_RUT"),
    (" es dni ", "ES_DNI"),
    ("Es-Nie", "ES_NIE"),
    ("dni", "DNI"),
    ("ruc", "RUC"),
    ("ce", "CE"),
]

REQUIRED_CODES = {
    "DNI",
    "CE",
    "RUC",
    "PASAPORTE",
    "CL_RUT",
    "CO_NIT",
    "MX_CURP",
    "MX_RFC",
    "AR_CUIT",
    "ES_DNI",
    "ES_NIE",
    "BR_CPF",
    "BR_CNPJ",
    "EC_CI",
}

JUNK = [
    None,
    12345678,
    12345678.0,
    b"12345678",
    ["12345678"],
    object(),
    "",
    "   ",
    "😀" * 8,
    "1234\x005678",
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",  # Arabic-Indic digits
    "9" * 10_000,
]


def test_K3_registry_holds_every_required_type() -> None:
    assert set(DOCUMENT_TYPES) >= REQUIRED_CODES
    for code, kind in DOCUMENT_TYPES.items():
        assert kind.code == code
        assert len(kind.country) == 2 and kind.country.isupper()
        assert kind.name and kind.expected


def test_K3_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        DOCUMENT_TYPES["XX"] = DOCUMENT_TYPES["DNI"]  # type: ignore[index]


def test_K3_every_type_has_valid_and_invalid_examples() -> None:
    assert {code for code, _, _ in VALID} == set(DOCUMENT_TYPES)
    assert {code for code, _ in INVALID} == set(DOCUMENT_TYPES)
    check_digit_types = {code for code, kind in DOCUMENT_TYPES.items() if kind.check_digit}
    assert set(WRONG_CHECK_DIGIT) == check_digit_types


@pytest.mark.parametrize(("code", "typed", "compact"), VALID)
def test_K3_valid_number_is_accepted_in_compact_form(code: str, typed: str, compact: str) -> None:
    kind = DOCUMENT_TYPES[code]
    assert kind.validate(typed) == compact
    assert kind.compact(typed) == compact
    assert kind.is_valid(typed)
    assert make_document(code, typed) == Document(type=code, number=compact)


@pytest.mark.parametrize(("code", "typed", "compact"), VALID)
def test_K3_formatting_variations_compact_to_the_same_number(
    code: str, typed: str, compact: str
) -> None:
    variations = {
        compact,
        compact.lower(),
        " ".join(compact),
        ".".join(compact),
        "-".join(compact),
        f"  {compact[:3]} - {compact[3:]}  ",
        f"{compact[:2]}.{compact[2:5]}.{compact[5:]}",
        f"{compact[:-1]}\u2013{compact[-1]}",  # an en dash pasted from a word processor
    }
    for variation in variations:
        assert make_document(code, variation).number == compact, variation


@pytest.mark.parametrize(("code", "wrong"), sorted(WRONG_CHECK_DIGIT.items()))
def test_K3_wrong_check_digit_is_rejected_naming_value_and_type(code: str, wrong: str) -> None:
    with pytest.raises(InvalidDocument) as caught:
        make_document(code, wrong)
    message = str(caught.value)
    assert repr(wrong) in message
    assert code in message
    assert "check digit" in message
    assert not DOCUMENT_TYPES[code].is_valid(wrong)


@pytest.mark.parametrize(("code", "number"), INVALID)
def test_K3_number_not_matching_its_type_is_rejected(code: str, number: str) -> None:
    kind = DOCUMENT_TYPES[code]
    with pytest.raises(InvalidDocument) as caught:
        kind.validate(number)
    message = str(caught.value)
    assert repr(number) in message
    assert code in message
    assert kind.expected in message
    assert not kind.is_valid(number)


def test_K3_peru_dni_refuses_the_cui_check_character() -> None:
    # stdnum.pe.cui would accept '10117410-2'; a DNI (and so a contact code) is the 8 digits.
    assert make_document("DNI", "10117410").number == "10117410"
    for typed in ("10117410-2", "101174102", "12345678-1"):
        with pytest.raises(InvalidDocument, match="check character"):
            make_document("DNI", typed)


def test_K3_bare_dni_is_peru_and_spain_is_es_dni() -> None:
    assert document_type("DNI").country == "PE"
    assert document_type("ES_DNI").country == "ES"
    assert not document_type("DNI").is_valid("54362315K")
    assert make_document("es-dni", "54362315-K").type == "ES_DNI"


def test_K3_rfc_check_digits_are_not_enforced() -> None:
    # Real RFCs with wrong check digits are in use (stdnum disables the check by default).
    assert not DOCUMENT_TYPES["MX_RFC"].check_digit
    assert make_document("RFC", "VACE-460910-SX6").number == "VACE460910SX6"


@pytest.mark.parametrize(("alias", "code"), ALIASES)
def test_K3_aliases_and_separators_resolve_to_the_canonical_type(alias: str, code: str) -> None:
    assert document_type(alias) is DOCUMENT_TYPES[code]


def test_K3_canonical_codes_resolve_in_any_case_and_separator() -> None:
    for code, kind in DOCUMENT_TYPES.items():
        for spelled in (code, code.lower(), code.replace("_", " "), code.replace("_", "-")):
            assert document_type(spelled) is kind
        for alias in kind.aliases:
            assert document_type(alias) is kind
    assert document_type(DOCUMENT_TYPES["CE"]) is DOCUMENT_TYPES["CE"]


def test_K3_aliases_do_not_shadow_codes_or_each_other() -> None:
    aliases = [alias for kind in DOCUMENT_TYPES.values() for alias in kind.aliases]
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(DOCUMENT_TYPES)


@pytest.mark.parametrize("code", ["XX", "", "DNI2", "CO_CC", "😀", None, 7, object(), "R" * 10_000])
def test_K3_unknown_type_is_refused_listing_the_known_codes(code: object) -> None:
    with pytest.raises(InvalidDocument) as caught:
        document_type(code)
    message = str(caught.value)
    assert repr(code)[:40] in message
    assert "DNI" in message and "CL_RUT" in message and "PASAPORTE" in message
    with pytest.raises(InvalidDocument):
        make_document(code, "12345678")


@pytest.mark.parametrize("junk", JUNK, ids=lambda value: type(value).__name__)
@pytest.mark.parametrize("code", sorted(DOCUMENT_TYPES))
def test_K3_junk_numbers_are_refused_naming_the_value(code: str, junk: object) -> None:
    kind = DOCUMENT_TYPES[code]
    with pytest.raises(InvalidDocument) as caught:
        make_document(code, junk)
    assert repr(junk)[:40] in str(caught.value)
    assert len(str(caught.value)) < 400
    assert kind.is_valid(junk) is False


def test_K3_format_gives_the_usual_display_form() -> None:
    expected = {
        ("CL_RUT", "125319092"): "12.531.909-2",
        ("CL_RUT", "10000013K"): "10.000.013-K",
        ("CO_NIT", "2131234321"): "213.123.432-1",
        ("MX_RFC", "GODE561231GR8"): "GODE 561231 GR8",
        ("AR_CUIT", "20055361682"): "20-05536168-2",
        ("AR_DNI", "20123456"): "20.123.456",
        ("BR_CPF", "39053344705"): "390.533.447-05",
        ("BR_CNPJ", "16727230000197"): "16.727.230/0001-97",
        ("DNI", "10117410"): "10117410",
        ("RUC", "20512333797"): "20512333797",
    }
    for (code, number), shown in expected.items():
        assert format_document(Document(type=code, number=number)) == shown
        assert DOCUMENT_TYPES[code].format(number) == shown


def test_K3_format_refuses_an_invalid_number() -> None:
    with pytest.raises(InvalidDocument):
        DOCUMENT_TYPES["CL_RUT"].format("12531909-3")
    with pytest.raises(InvalidDocument):
        format_document(Document(type="BR_CPF", number="1"))
    with pytest.raises(InvalidDocument):
        format_document("12345678")  # type: ignore[arg-type]


def test_K3_document_is_a_plain_frozen_record() -> None:
    # No validation on construction: a stored document always loads back.
    raw = Document(type="NOPE", number="not a number")
    assert raw.number == "not a number"
    assert attrs.evolve(raw, type="DNI") == Document("DNI", "not a number")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        raw.number = "1"  # type: ignore[misc]


def test_K2_document_code_is_the_compact_number_upper_case() -> None:
    assert document_code(make_document("DNI", "10 117 410")) == "10117410"
    assert document_code(make_document("rut", "10.000.013-k")) == "10000013K"
    assert document_code(Document(type="ce", number="ab-123.456.789")) == "AB123456789"
    assert document_code(Document(type="NIE", number="x-2482300w")) == "X2482300W"


def test_K2_document_code_refuses_an_invalid_hand_built_document() -> None:
    with pytest.raises(InvalidDocument, match="'1011741'"):
        document_code(Document(type="DNI", number="1011741"))
    with pytest.raises(InvalidDocument):
        document_code(Document(type="NOPE", number="10117410"))
    with pytest.raises(InvalidDocument):
        document_code(None)  # type: ignore[arg-type]


def _only_42(number: str) -> str:
    if number != "42":
        raise ValueError("not 42")
    return number


def test_K3_a_new_type_can_be_built_for_tests() -> None:
    kind = DocumentType(
        code="ZZ_TEST",
        country="ZZ",
        name="Test",
        expected="the digits 42",
        check_digit=False,
        compact_number=str,
        validate_number=_only_42,
    )
    assert kind.validate("4-2") == "42"
    assert kind.format("4.2") == "42"
    with pytest.raises(InvalidDocument, match="expected the digits 42"):
        kind.validate("43")
    assert make_document(kind, " 42 ") == Document(type="ZZ_TEST", number="42")


def test_K3_module_doctests_pass() -> None:
    result = doctest.testmod(ccdomain.documents)
    assert result.attempted > 0
    assert result.failed == 0


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.text(),
    st.text(alphabet="0123456789kKxX .-/\u2013", max_size=20),
    st.lists(st.text(max_size=3), max_size=3),
    st.builds(object),
    st.sampled_from(sorted(DOCUMENT_TYPES)),
)
TYPE_CODES = st.one_of(
    ANYTHING,
    st.sampled_from(sorted(DOCUMENT_TYPES)),
    st.sampled_from([alias for alias, _ in ALIASES]),
)


@settings(max_examples=300, deadline=None)
@given(code=TYPE_CODES, number=ANYTHING)
def test_K3_make_document_raises_only_ccdomain_errors(code: object, number: object) -> None:
    try:
        document = make_document(code, number)
    except CcdomainError as error:
        assert isinstance(error, InvalidDocument)
        message = str(error)
        assert repr(code)[:40] in message or repr(number)[:40] in message
    else:
        assert document.type in DOCUMENT_TYPES
        assert DOCUMENT_TYPES[document.type].validate(document.number) == document.number


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(sorted(DOCUMENT_TYPES)), number=ANYTHING)
def test_K3_is_valid_never_raises_and_compact_drops_separators(code: str, number: object) -> None:
    kind = DOCUMENT_TYPES[code]
    assert isinstance(kind.is_valid(number), bool)
    if isinstance(number, str):
        compact = kind.compact(number)
        assert not any(char.isspace() or char in ".-" for char in compact)
    else:
        with pytest.raises(InvalidDocument):
            kind.compact(number)  # type: ignore[arg-type]


@st.composite
def typed_valid_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """A valid (code, number as a person might type it, compact form)."""
    code, _, compact = draw(st.sampled_from(VALID))
    separators = st.sampled_from(["", "", "", " ", ".", "-", " - ", "\u2013", "\u00a0", "\u00b7"])
    typed = draw(separators)
    for char in compact:
        typed += (char.lower() if draw(st.booleans()) else char) + draw(separators)
    return code, typed, compact


@settings(max_examples=300, deadline=None)
@given(example=typed_valid_numbers())
def test_K3_compact_is_idempotent_and_format_round_trips(example: tuple[str, str, str]) -> None:
    code, typed, compact = example
    kind = DOCUMENT_TYPES[code]
    assert kind.compact(typed) == compact
    assert kind.compact(kind.compact(typed)) == kind.compact(typed)
    assert kind.validate(typed) == compact
    assert kind.validate(kind.format(typed)) == kind.compact(typed)
    document = make_document(code, typed)
    assert document_code(document) == compact
    assert make_document(code, format_document(document)) == document
