"""Phone normalization (M1, M2) and the phone keys of matching (M3)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from ccdomain import phones
from ccdomain.errors import CcdomainError, InvalidPhoneNumber
from ccdomain.phones import (
    country_code,
    national_number,
    normalize_phone,
    phone_suffix,
    phone_variants,
    phone_variants_with_reason,
)

REGIONS = ("PE", "CL", "CO", "MX", "AR", "BR", "ES", "US")

# Every expectation below was checked against the installed phonenumbers (9.0.x).
TYPED_SHAPES = [
    # Peru: mobiles are 9 digits starting with 9; Lima landlines are 1 + 7 digits.
    ("987 654 321", "PE", "+51987654321"),
    ("987-654-321", "PE", "+51987654321"),
    ("987654321", "pe", "+51987654321"),
    ("  987654321\n", "PE", "+51987654321"),
    ("(01) 700-1234", "PE", "+5117001234"),
    ("+51 1 7001234", "PE", "+5117001234"),
    ("0051987654321", "PE", "+51987654321"),
    ("51987654321", "PE", "+51987654321"),
    ("+51 (987) 654.321", "PE", "+51987654321"),
    ("tel:+51-987-654-321", "PE", "+51987654321"),
    ("987\u00a0654\u00a0321", "PE", "+51987654321"),
    ("٩٨٧٦٥٤٣٢١", "PE", "+51987654321"),
    ("📞 987 654 321", "PE", "+51987654321"),
    ("+51987654321", "US", "+51987654321"),
    # Chile
    ("+56 9 8765 4321", "CL", "+56987654321"),
    ("9 8765 4321", "CL", "+56987654321"),
    ("56987654321", "CL", "+56987654321"),
    ("2 2345 6789", "CL", "+56223456789"),
    # Colombia
    ("300 123 4567", "CO", "+573001234567"),
    ("+57 601 2345678", "CO", "+576012345678"),
    ("601 2345678", "CO", "+576012345678"),
    ("573001234567", "CO", "+573001234567"),
    # Mexico: the legacy mobile "1" and the retired 044/045/01 prefixes give today's number.
    ("55 1234 5678", "MX", "+525512345678"),
    ("525512345678", "MX", "+525512345678"),
    ("+52 1 55 1234 5678", "MX", "+525512345678"),
    ("521 55 1234 5678", "MX", "+525512345678"),
    ("5215512345678", "MX", "+525512345678"),
    ("+5215512345678", "PE", "+525512345678"),
    ("044 55 1234 5678", "MX", "+525512345678"),
    ("045 55 1234 5678", "MX", "+525512345678"),
    ("01 55 1234 5678", "MX", "+525512345678"),
    # Argentina: the national mobile "15" becomes the international "9".
    ("011 15 2345-6789", "AR", "+5491123456789"),
    ("0 11 15 2345 6789", "AR", "+5491123456789"),
    ("11 15 2345 6789", "AR", "+5491123456789"),
    ("+54 9 11 2345-6789", "AR", "+5491123456789"),
    ("5491123456789", "AR", "+5491123456789"),
    ("+54 11 15 2345 6789", "AR", "+5491123456789"),
    ("+54 11 4321-1234", "AR", "+541143211234"),
    ("011 4321-1234", "AR", "+541143211234"),
    # Brazil: "0055" is not an international prefix there (00 + carrier code is).
    ("(11) 91234-5678", "BR", "+5511912345678"),
    ("+55 11 91234-5678", "BR", "+5511912345678"),
    ("0055 11 91234 5678", "BR", "+5511912345678"),
    ("5511912345678", "BR", "+5511912345678"),
    ("(011) 91234-5678", "BR", "+5511912345678"),
    ("+55 11 2345-6789", "BR", "+551123456789"),
    ("+55 11 8123-4567", "BR", "+5511981234567"),
    ("11 8123-4567", "BR", "+5511981234567"),
    # Spain
    ("612 34 56 78", "ES", "+34612345678"),
    ("+34 912 345 678", "ES", "+34912345678"),
    ("0034612345678", "ES", "+34612345678"),
    ("34612345678", "PE", "+34612345678"),
    # United States
    ("(212) 736-5000", "US", "+12127365000"),
    ("+1 415 555 2671", "US", "+14155552671"),
    ("1-415-555-2671", "US", "+14155552671"),
    ("415.555.2671", "US", "+14155552671"),
    ("0051987654321", "US", "+51987654321"),
]


@pytest.mark.parametrize(("raw", "region", "expected"), TYPED_SHAPES)
def test_M1_typed_shapes_normalize_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


def test_M1_table_covers_many_shapes() -> None:
    assert len(TYPED_SHAPES) >= 45
    assert {region.upper() for _, region, _ in TYPED_SHAPES} >= set(REGIONS)


REJECTED = [
    ("98765", "PE"),
    ("12", "PE"),
    ("", "PE"),
    ("   ", "PE"),
    ("abc", "PE"),
    ("98765ABCD", "PE"),  # vanity letters are not read as digits
    ("987654321 (mamá)", "PE"),
    ("987654321 x12", "PE"),  # E.164 has no extensions
    ("+51 123", "PE"),
    ("+999 123456", "PE"),
    ("9876543210", "PE"),  # a Peruvian mobile with one digit too many
    ("+51 98765432", "PE"),  # one digit too few
    ("11 1234-5678", "BR"),
    ("987\n654321", "PE"),
    ("987654321\x00", "PE"),
    ("987654321\ud800", "PE"),  # a lone surrogate: not decoded text
    ("+5215512345", "MX"),
]


@pytest.mark.parametrize(("raw", "region"), REJECTED)
def test_M2_invalid_numbers_are_rejected_naming_input_and_region(raw: str, region: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone(raw, region)
    assert repr(raw)[:40] in str(caught.value)
    assert region in str(caught.value)


def test_M2_message_matches_design() -> None:
    with pytest.raises(
        InvalidPhoneNumber, match=r"^'98765' is not a valid phone number for region PE$"
    ):
        normalize_phone("98765", "PE")


def test_M2_parsable_but_invalid_number_is_rejected() -> None:
    number = phonenumbers.parse("+51 123456789", None)
    assert not phonenumbers.is_valid_number(number)
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone("+51 123456789", "PE")


def test_M2_rejection_is_raised_every_time_although_cached() -> None:
    for _ in range(3):
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone("98765", "PE")


@pytest.mark.parametrize("region", ["XX", "", "PER", "zz", "001", "ß"])
def test_M2_unknown_region_is_rejected_naming_it(region: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="region") as caught:
        normalize_phone("+51987654321", region)
    assert repr(region) in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        (None, "PE"),
        (987654321, "PE"),
        (b"987654321", "PE"),
        (object(), "PE"),
        (["987654321"], "PE"),
        ("987654321", None),
        ("987654321", 51),
        ("9" * 10_000, "PE"),
        ("9" * 65, "PE"),
    ],
)
def test_M2_non_string_or_oversized_input_raises_invalid_phone(raw: object, region: object) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw, region)


def test_M1_long_values_are_truncated_in_the_message() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone("9" * 10_000, "PE")
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_M1_every_region_reads_its_own_example_numbers(region: str) -> None:
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        for shape in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
            assert normalize_phone(phonenumbers.format_number(example, shape), region) == e164
        # An E.164 number means the same from any campaign's region.
        assert normalize_phone(e164, "PE") == e164


# --- properties -----------------------------------------------------------------------

_SEPARATOR = st.sampled_from(["", "", " ", "-", ".", " - "])
_PREFIX = st.sampled_from(["", "", "+", "00", "0", "+51 ", "+52 1 ", "+54 9 ", "+55 ", "15 "])


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """Digit groups with separators and prefixes people type; many are valid numbers."""
    groups = draw(st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=5))
    sep = draw(_SEPARATOR)
    body = sep.join(groups)
    if draw(st.booleans()):
        body = f"({body[:2]}) {body[2:]}"
    return draw(_PREFIX) + body


@st.composite
def example_shapes(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
    kind = draw(st.sampled_from([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    assert example is not None
    shape = draw(
        st.sampled_from(
            [PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164]
        )
    )
    return phonenumbers.format_number(example, shape), region


def _assert_idempotent(raw: str, region: str) -> None:
    try:
        once = normalize_phone(raw, region)
    except InvalidPhoneNumber:
        return
    assert phonenumbers.is_valid_number(phonenumbers.parse(once, None))
    assert normalize_phone(once, region) == once
    assert normalize_phone(once, "US") == once


@settings(max_examples=400, deadline=None)
@given(raw=typed_numbers(), region=st.sampled_from(REGIONS))
def test_M1_normalization_is_idempotent(raw: str, region: str) -> None:
    _assert_idempotent(raw, region)


@settings(max_examples=200, deadline=None)
@given(shape=example_shapes())
def test_M1_normalization_is_idempotent_on_example_numbers(shape: tuple[str, str]) -> None:
    _assert_idempotent(*shape)


def _parsed_if_valid(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.extension:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@settings(max_examples=400, deadline=None)
@given(
    raw=st.one_of(typed_numbers(), st.text("0123456789 -.()+", max_size=20)),
    region=st.sampled_from(REGIONS),
)
def test_M1_dropping_separators_never_changes_a_valid_parse(raw: str, region: str) -> None:
    # normalize_phone drops " -.()" before parsing (a speed-up); phonenumbers must read
    # the same valid number, or no valid number, either way.
    assume(not raw.strip("0123456789 -.()+"))
    cleaned = "".join(c for c in raw if c not in " -.()")
    assert _parsed_if_valid(raw, region) == _parsed_if_valid(cleaned, region)


_JUNK = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.text("0123456789+-() .\x00\n\t\u200b🙂", max_size=80),
    st.none(),
    st.integers(),
    st.binary(max_size=20),
    st.floats(),
    st.just("9" * 10_000),
    st.just("🙂" * 10_000),
    st.builds(object),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_JUNK, region=st.one_of(st.sampled_from(REGIONS), st.text(max_size=4), st.none()))
def test_M2_junk_raises_only_ccdomain_errors(raw: object, region: object) -> None:
    try:
        result = normalize_phone(raw, region)
    except CcdomainError as error:
        assert isinstance(error, InvalidPhoneNumber)
        assert str(error)
        return
    assert isinstance(result, str)
    assert phones._E164.fullmatch(result)


@settings(max_examples=300, deadline=None)
@given(
    calling_code=st.sampled_from(sorted(c for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if c)),
    digits=st.text("0123456789", min_size=2, max_size=14),
)
def test_M2_fast_validity_agrees_with_phonenumbers(calling_code: int, digits: str) -> None:
    # The per-country regex that replaces is_valid_number on the hot path must agree with it.
    try:
        number = phonenumbers.parse(f"+{calling_code}{digits}", None)
    except phonenumbers.NumberParseException:
        assume(False)
    expected = phonenumbers.is_valid_number(number)
    assert (phones._valid_e164(number) is not None) == expected


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_M2_fast_validity_agrees_on_example_numbers(region: str) -> None:
    for kind in PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        expected = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        valid = phonenumbers.is_valid_number(example)
        assert phones._valid_e164(example) == (expected if valid else None)


# --- phone keys (M3) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+51987654321", "987654321"),
        ("+5491123456789", "91123456789"),
        ("+14155552671", "4155552671"),
        ("+390612345678", "0612345678"),
        ("+5215512345678", "15512345678"),  # legacy forms have a national number too
    ],
)
def test_M3_national_number(e164: str, expected: str) -> None:
    assert national_number(e164) == expected


def test_M3_country_code() -> None:
    assert country_code("+51987654321") == 51
    assert country_code("+14155552671") == 1
    assert country_code("+5491123456789") == 54
    assert country_code("+3801234567") == 380


def test_M3_phone_suffix() -> None:
    assert phone_suffix("+51987654321") == "7654321"
    assert phone_suffix("+51987654321", 9) == "987654321"
    assert phone_suffix("+51987654321", 12) == "987654321"  # never reaches into the country code
    # The same line with and without its country code shares the suffix.
    assert phone_suffix("+5491123456789") == phone_suffix("+541123456789")


@pytest.mark.parametrize("digits", [0, -1, True, 7.0, "7", None])
def test_M3_phone_suffix_rejects_bad_length(digits: object) -> None:
    with pytest.raises(InvalidPhoneNumber, match="suffix length"):
        phone_suffix("+51987654321", digits)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [None, 51987654321, "51987654321", "+51 987 654 321", "+0987", "+", "", "+99912345", "+5"],
)
def test_M3_phone_keys_reject_non_e164(bad: object) -> None:
    for key in (national_number, country_code, phone_suffix, phone_variants):
        with pytest.raises(InvalidPhoneNumber, match=r"E\.164"):
            key(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        # Brazil's ninth digit, both ways; a 9-digit mobile whose legacy form would begin
        # with 1-5 (never a mobile before the change) and landlines have no variant.
        ("+5511987654321", ("+551187654321",)),
        ("+551187654321", ("+5511987654321",)),
        ("+5511912345678", ()),
        ("+551123456789", ()),
        # Mexico's legacy +52 1.
        ("+525512345678", ("+5215512345678",)),
        ("+5215512345678", ("+525512345678",)),
        # Argentina: 9, no 9, and 15 after the area code (whose length varies).
        ("+5491123456789", ("+541123456789", "+54111523456789")),
        ("+541123456789", ("+5491123456789", "+54111523456789")),
        ("+54111523456789", ("+5491123456789", "+541123456789")),
        ("+5493514123456", ("+543514123456", "+54351154123456")),
        ("+5492982412345", ("+542982412345", "+54298215412345")),
        # Other countries have none.
        ("+51987654321", ()),
        ("+14155552671", ()),
    ],
)
def test_M3_variants(e164: str, expected: tuple[str, ...]) -> None:
    assert phone_variants(e164) == expected


def test_M3_variants_carry_a_reason() -> None:
    ((variant, reason),) = phone_variants_with_reason("+5511987654321")
    assert variant == "+551187654321"
    assert "Brazil" in reason and "ninth digit" in reason
    reasons = [reason for _, reason in phone_variants_with_reason("+5491123456789")]
    assert all(reason.startswith("Argentina") for reason in reasons)
    assert any("15" in reason for reason in reasons)


def test_M3_variants_match_what_normalization_accepts() -> None:
    # The legacy spelling a provider sends and the stored current number are variants.
    assert normalize_phone("+52 1 55 1234 5678", "MX") in phone_variants("+5215512345678")
    assert normalize_phone("0 11 15 2345 6789", "AR") in phone_variants("+54111523456789")
    assert normalize_phone("(11) 8765-4321", "BR") in phone_variants("+551187654321")


@st.composite
def quirky_e164(draw: st.DrawFn) -> str:
    calling_code = draw(st.sampled_from(["55", "52", "54", "51", "1"]))
    nsn = draw(st.text("0123456789", min_size=1, max_size=13))
    if draw(st.booleans()) and calling_code in ("55", "54"):
        # Steer towards the mobile shapes: area code, then 9 / 15 / 6-9.
        area = draw(st.sampled_from(["11", "21", "351", "2982"]))
        nsn = area + draw(st.sampled_from(["9", "15", "8", "7", "4"])) + nsn[:8]
    return f"+{calling_code}{nsn}"


@settings(max_examples=500, deadline=None)
@given(e164=st.one_of(quirky_e164(), example_shapes().map(lambda s: normalize_phone(*s))))
def test_M3_variants_are_symmetric_and_distinct(e164: str) -> None:
    try:
        variants = phone_variants(e164)
    except InvalidPhoneNumber:
        return
    assert e164 not in variants
    assert len(set(variants)) == len(variants)
    for variant in variants:
        assert phones._E164.fullmatch(variant)
        assert country_code(variant) == country_code(e164)
        assert e164 in phone_variants(variant)


def test_M13_short_digit_strings_are_not_read_as_foreign_numbers() -> None:
    # Ten digits typed in Peru are a mistyped national number, not Switzerland's +41.
    with pytest.raises(InvalidPhoneNumber, match="'4155552671'"):
        normalize_phone("4155552671", "PE")
    # Eleven digits or more, or the region's own code, are read with a "+".
    assert normalize_phone("14155552671", "PE") == "+14155552671"
    assert normalize_phone("51987654321", "PE") == "+51987654321"
    assert normalize_phone("5215512345678", "PE") == "+525512345678"
