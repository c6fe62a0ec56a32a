"""Phone numbers: normalization to E.164 (rules M1, M2) and the phone keys of matching (M3).

This is a private implementation module; :mod:`ccdomain.matching` re-exports its names.

M1: a phone is stored as E.164, parsed with ``phonenumbers`` in the campaign's default
region for numbers typed without a country code. The shapes people type are accepted:

    >>> normalize_phone("987 654 321", "PE")
    '+51987654321'
    >>> normalize_phone("+51 (987) 654.321", "pe")
    '+51987654321'
    >>> normalize_phone("0051987654321", "PE")
    '+51987654321'
    >>> normalize_phone("51987654321", "PE")
    '+51987654321'

Mexico's legacy mobile form (``+52 1 ...``, still sent by messaging providers) becomes the
current number, Argentina's national mobile form (``0 11 15 ...``) becomes ``+54 9 11 ...``:

    >>> normalize_phone("+52 1 55 1234 5678", "MX")
    '+525512345678'
    >>> normalize_phone("0 11 15 2345-6789", "AR")
    '+5491123456789'

M2: invalid or impossible numbers raise :class:`~ccdomain.errors.InvalidPhoneNumber`, and so
does a number that parses but is not valid for its region:

    >>> normalize_phone("98765", "PE")
    Traceback (most recent call last):
    ...
    ccdomain.errors.InvalidPhoneNumber: '98765' is not a valid phone number for region PE

Choices made here where the product documents are silent (report them in docs/rules.md):

- The region is required and must be a region ``phonenumbers`` knows, even when the number
  carries its own ``+`` country code: it is the campaign's default region, never optional.
- Letters are rejected rather than read as vanity digits (``1-800-FLOWERS``): in a contact
  center a letter in a phone field is a note ("cel", "mamá"), not a digit. A leading
  ``tel:`` is the one exception.
- Extensions (``x12``, ``;ext=5``) are rejected: E.164 cannot hold them.
- Inputs longer than 64 characters and inputs holding control characters or lone
  surrogates are rejected before parsing; surrounding whitespace is ignored. Other
  symbols are left to ``phonenumbers``, which skips them (``"📞 987 654 321"`` is read).
- Brazil's legacy 8-digit mobile form (``+55 11 8123-4567``, invalid since the ninth digit
  was added) normalizes to the current 9-digit number, as Mexico's ``+52 1`` does.
- Results and rejections are both cached (bounded LRU of 131,072 entries keyed by the raw
  string and region as given); a rejection is cached as its message, so junk that repeats
  costs a dictionary lookup, and the error is raised afresh on every call.

M3 needs phone keys: :func:`national_number`, :func:`phone_suffix` and the national mobile
quirks of :func:`phone_variants`:

    >>> national_number("+51987654321")
    '987654321'
    >>> phone_suffix("+51987654321")
    '7654321'
    >>> phone_variants("+5511987654321")
    ('+551187654321',)
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber

from ccdomain.checks import PHONE_TEXT_MAX
from ccdomain.errors import InvalidPhoneNumber
from ccdomain.errors import show as _show

__all__ = [
    "country_code",
    "national_number",
    "normalize_phone",
    "phone_suffix",
    "phone_variants",
    "phone_variants_with_reason",
]

_MAX_RAW_LENGTH = PHONE_TEXT_MAX
_CACHE_SIZE = 1 << 17
# What most typed numbers are made of; anything else is scanned by the regex below.
_PLAIN_CHARS = "0123456789 +-.()"
# A letter (any script), a C0/C1 control character or a lone surrogate (never decoded
# text): rejected before parsing.
_LETTER_OR_CONTROL = re.compile(r"[^\W\d_]|[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_E164 = re.compile(r"\+[1-9][0-9]{2,14}")
_SUPPORTED_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
# Before Brazil prepended the ninth digit (2012-2016), mobile numbers began with 6-9.
_BR_LEGACY_MOBILE_FIRST = frozenset("6789")


def _invalid(raw: str, region: str) -> str:
    return f"{_show(raw)} is not a valid phone number for region {region}"


# --- validity -------------------------------------------------------------------------


@functools.cache
def _validator(calling_code: int) -> dict[int, re.Pattern[str]] | None:
    """Per national-number length, one regex equivalent to ``phonenumbers.is_valid_number``.

    ``is_valid_number`` tries up to eleven patterns one call at a time; for a country code
    served by a single region the same test is: the number matches the general pattern and
    at least one number-type pattern whose possible lengths admit its length. Folding those
    into one compiled regex per length makes validation about 6x cheaper. Country codes
    shared by several regions (+1, +7, +44, ...) return None and use ``is_valid_number``.
    The equivalence is checked by a property test against ``is_valid_number``.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code)
    if not regions or len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(calling_code, regions[0])
    if metadata is None:
        return None
    general = metadata.general_desc
    by_length: dict[int, re.Pattern[str]] = {}
    if general is None or not general.national_number_pattern:
        return by_length
    general_lengths = general.possible_length
    for length in range(1, 18):
        if general_lengths and length not in general_lengths:
            continue
        patterns = []
        for name in _NUMBER_TYPES:
            desc = getattr(metadata, name)
            if desc is None or not desc.national_number_pattern:
                continue
            if desc.possible_length and length not in desc.possible_length:
                continue
            patterns.append(f"(?:{desc.national_number_pattern})")
        if patterns:
            by_length[length] = re.compile(
                f"(?=(?:{general.national_number_pattern})$)(?:{'|'.join(patterns)})$"
            )
    return by_length


def _valid_e164(number: PhoneNumber) -> str | None:
    """The E.164 form of ``number`` if ``phonenumbers`` deems it valid, else None."""
    calling_code = number.country_code
    nsn: str = phonenumbers.national_significant_number(number)
    by_length = _validator(calling_code)
    if by_length is None:
        if not phonenumbers.is_valid_number(number):
            return None
    else:
        pattern = by_length.get(len(nsn))
        if pattern is None or pattern.match(nsn) is None:
            return None
    # Exactly what format_number(number, E164) builds, without a second nsn computation.
    return f"+{calling_code}{nsn}"


# --- normalization (M1, M2) ----------------------------------------------------------


def _legacy_mobile_repair(calling_code: int, nsn: str) -> str | None:
    """The current form of a legacy Mexican (+52 1) or Brazilian (8-digit) mobile, if valid."""
    if calling_code == 52 and len(nsn) == 11 and nsn[0] == "1":
        return _valid_e164(PhoneNumber(country_code=52, national_number=int(nsn[1:])))
    if (
        calling_code == 55
        and len(nsn) == 10
        and nsn[0] != "0"
        and nsn[1] != "0"
        and nsn[2] in _BR_LEGACY_MOBILE_FIRST
    ):
        current = int(nsn[:2] + "9" + nsn[2:])
        return _valid_e164(PhoneNumber(country_code=55, national_number=current))
    return None


def _parse_valid(text: str, region: str | None) -> str | None:
    """Parse ``text`` and return its valid E.164 form, or None."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if number.extension:
        return None
    e164 = _valid_e164(number)
    if e164 is not None:
        return e164
    calling_code = number.country_code or 0  # parse always sets it; typed Optional
    return _legacy_mobile_repair(calling_code, phonenumbers.national_significant_number(number))


def _repair(text: str, region: str) -> str | None:
    """Second chances for a number whose plain parse is not valid (M1's typed shapes)."""
    if text.startswith("+"):
        return None
    digits: str = phonenumbers.normalize_digits_only(text)
    candidates: list[str] = []
    if region == "MX":
        # Mexico's national mobile prefixes (044 local, 045 long distance) and long-distance
        # prefix 01, all retired in 2019: the ten digits after them are today's number.
        if len(digits) == 13 and digits[:3] in ("044", "045"):
            candidates.append("+52" + digits[3:])
        elif len(digits) == 12 and digits[:2] == "01":
            candidates.append("+52" + digits[2:])
    if digits.startswith("00"):
        # "00" is the international prefix in most of the world, but not in every region
        # (Brazil dials 00 + carrier code, the US 011).
        candidates.append("+" + digits[2:])
    # A country calling code typed without its "+" (M13): only for 11 digits or more, or
    # when the digits start with the region's own code. A shorter string is far more
    # often a mistyped national number than a foreign one: "4155552671" typed in PE
    # would otherwise become a Swiss number.
    own_code = str(phonenumbers.country_code_for_region(region)) if region else ""
    if len(digits) >= 11 or (own_code and digits.startswith(own_code)):
        candidates.append("+" + digits)
    for candidate in candidates:
        e164 = _parse_valid(candidate, None)
        if e164 is not None:
            return e164
    return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalize(raw: str, region: str) -> str:
    """The E.164 form of ``raw`` (starts with "+"), or the rejection message (never does)."""
    region_code = region
    if region_code not in _SUPPORTED_REGIONS:
        # ASCII only: str.upper() maps "ß" to "SS", which is South Sudan.
        region_code = region.upper() if region.isascii() else ""
        if region_code not in _SUPPORTED_REGIONS:
            return (
                f"region {_show(region)} is not a known ISO 3166 alpha-2 region code "
                f"(e.g. 'PE'), so {_show(raw)} cannot be read as a phone number"
            )
    text = raw.strip()
    # Most typed numbers hold nothing but ASCII digits, "+" and separators; only the others
    # pay for the letter and control character scan.
    if text.strip(_PLAIN_CHARS):
        if text[:4].lower() == "tel:":
            text = text[4:]
        if _LETTER_OR_CONTROL.search(text) is not None:
            return _invalid(raw, region_code)
    else:
        # In such strings the separators mean nothing to phonenumbers but cost it 10-30%
        # of its parse time. A property test checks that dropping them never changes a
        # valid parse.
        text = text.replace(" ", "").replace("-", "").replace(".", "")
        text = text.replace("(", "").replace(")", "")
    if not text:
        return _invalid(raw, region_code)
    e164 = _parse_valid(text, region_code)
    if e164 is None:
        e164 = _repair(text, region_code)
    return e164 if e164 is not None else _invalid(raw, region_code)


def normalize_phone(raw: object, region: object) -> str:
    """Normalize a typed phone number to E.164 (M1), rejecting invalid numbers (M2).

    Args:
        raw: the number as typed: spaces, dashes, dots, parentheses, ``+``/``00``
            international prefixes, national trunk prefixes, a country code without ``+``.
        region: the campaign's default region, ISO 3166 alpha-2 (``"PE"``, any case), used
            for numbers typed without a country code.

    Returns:
        The E.164 string, e.g. ``'+51987654321'``.

    Raises:
        InvalidPhoneNumber: ``raw`` is not a string, is not a valid number for ``region``
            (or for the country code it carries), or ``region`` is unknown.

    >>> normalize_phone("(11) 91234-5678", "BR")
    '+5511912345678'
    """
    if isinstance(raw, str) and isinstance(region, str) and len(raw) <= _MAX_RAW_LENGTH:
        result = _normalize(raw, region)
        if result[0] == "+":
            return result
        raise InvalidPhoneNumber(result)
    if not isinstance(region, str):
        raise InvalidPhoneNumber(
            f"region {_show(region)} is not an ISO 3166 alpha-2 region code string (e.g. 'PE')"
        )
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(f"{_show(raw)} is not a phone number: expected a string")
    raise InvalidPhoneNumber(
        f"{_show(raw)} is not a valid phone number: longer than {_MAX_RAW_LENGTH} characters"
    )


# --- phone keys for matching (M3) -----------------------------------------------------


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _split(e164: str) -> tuple[int, str] | None:
    """(country calling code, national significant number) of an E.164 string, or None."""
    if _E164.fullmatch(e164) is None:
        return None
    # Country calling codes are a prefix code: at most one of the 1-3 digit prefixes is one.
    for size in (1, 2, 3):
        calling_code = int(e164[1 : 1 + size])
        if calling_code in _COUNTRY_CODES:
            return calling_code, e164[1 + size :]
    return None


def _require_e164(e164: object) -> tuple[int, str]:
    parts = _split(e164) if isinstance(e164, str) else None
    if parts is None:
        raise InvalidPhoneNumber(
            f"{_show(e164)} is not an E.164 phone number: expected '+', a country code and "
            "the national number, digits only (e.g. '+51987654321'); use normalize_phone first"
        )
    return parts


def country_code(e164: str) -> int:
    """The country calling code of an E.164 number.

    >>> country_code("+5491123456789")
    54

    Raises:
        InvalidPhoneNumber: ``e164`` is not an E.164 string with a known country code.
    """
    return _require_e164(e164)[0]


def national_number(e164: str) -> str:
    """The national significant number of an E.164 number: its digits after the country code.

    The NATIONAL tier of M3 matches on it. Leading zeros that belong to the number (Italy)
    are kept.

    >>> national_number("+51987654321")
    '987654321'
    >>> national_number("+390612345678")
    '0612345678'

    Raises:
        InvalidPhoneNumber: ``e164`` is not an E.164 string with a known country code.
    """
    return _require_e164(e164)[1]


def phone_suffix(e164: str, digits: int = 7) -> str:
    """The last ``digits`` digits of the national number (the SUFFIX tier of M3).

    A national number shorter than ``digits`` is returned whole, so it can never equal the
    suffix of a longer number.

    >>> phone_suffix("+5491123456789")
    '3456789'
    >>> phone_suffix("+5491123456789", 8)
    '23456789'

    Raises:
        InvalidPhoneNumber: ``e164`` is not E.164, or ``digits`` is not a positive int.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise InvalidPhoneNumber(
            f"suffix length {_show(digits)} is not valid: expected a positive integer"
        )
    return _require_e164(e164)[1][-digits:]


def _ar_area_code_length(ten: str) -> int:
    """Length of the area code of a 10-digit Argentine national number, 0 if unknown."""
    number = PhoneNumber(country_code=54, national_number=int(ten))
    length: int = phonenumbers.length_of_national_destination_code(number)
    return length if 2 <= length <= 4 else 0


def _ar_variants(nsn: str) -> tuple[tuple[str, str], ...]:
    # Three spellings of one Argentine mobile: +54 9 AA NNNN (international, current),
    # +54 AA NNNN (no 9; identical to a landline) and +54 AA 15 NNNN (the national "15").
    if len(nsn) == 11 and nsn[0] == "9" and nsn[1] not in "09":
        ten = nsn[1:]
        found = [("+54" + ten, "Argentina mobile: form without the 9 (as a landline)")]
    elif len(nsn) == 10 and nsn[0] not in "09":
        ten = nsn
        found = [("+549" + ten, "Argentina mobile: international form with the 9")]
    elif len(nsn) == 12 and nsn[0] not in "09":
        found = []
        for size in (2, 3, 4):
            ten = nsn[:size] + nsn[size + 2 :]
            if nsn[size : size + 2] == "15" and _ar_area_code_length(ten) == size:
                found.append(("+549" + ten, "Argentina mobile: international form with the 9"))
                found.append(("+54" + ten, "Argentina mobile: form without the 9 (as a landline)"))
        return tuple(found)
    else:
        return ()
    size = _ar_area_code_length(ten)
    if size:
        fifteen = "+54" + ten[:size] + "15" + ten[size:]
        found.append((fifteen, "Argentina mobile: national form with 15 after the area code"))
    return tuple(found)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _variants(calling_code: int, nsn: str) -> tuple[tuple[str, str], ...]:
    if calling_code == 55 and len(nsn) in (10, 11) and nsn[0] != "0" and nsn[1] != "0":
        if len(nsn) == 11 and nsn[2] == "9" and nsn[3] in _BR_LEGACY_MOBILE_FIRST:
            legacy = "+55" + nsn[:2] + nsn[3:]
            return ((legacy, "Brazil ninth digit: legacy 8-digit mobile form"),)
        if len(nsn) == 10 and nsn[2] in _BR_LEGACY_MOBILE_FIRST:
            current = "+55" + nsn[:2] + "9" + nsn[2:]
            return ((current, "Brazil ninth digit: current 9-digit mobile form"),)
        return ()
    if calling_code == 52:
        if len(nsn) == 10:
            return (("+521" + nsn, "Mexico: legacy mobile form with 1 after +52"),)
        if len(nsn) == 11 and nsn[0] == "1":
            return (("+52" + nsn[1:], "Mexico: current form without the legacy mobile 1"),)
        return ()
    if calling_code == 54:
        return _ar_variants(nsn)
    return ()


def phone_variants_with_reason(e164: str) -> tuple[tuple[str, str], ...]:
    """The other E.164 spellings of the same line, each with why (the VARIANT tier of M3).

    National mobile quirks split one person in two: Brazil's added ninth digit, Mexico's
    old ``+52 1`` mobile prefix, Argentina's mobile ``9`` and national ``15``. The variants
    are spellings a store may hold, so legacy ones are returned although today's metadata
    calls them invalid. The relation is symmetric: ``x`` is a variant of each of its
    variants. Numbers of other countries have none.

    >>> phone_variants_with_reason("+525512345678")
    (('+5215512345678', 'Mexico: legacy mobile form with 1 after +52'),)

    Raises:
        InvalidPhoneNumber: ``e164`` is not an E.164 string with a known country code.
    """
    calling_code, nsn = _require_e164(e164)
    return _variants(calling_code, nsn)


def phone_variants(e164: str) -> tuple[str, ...]:
    """The other E.164 spellings of the same line (see :func:`phone_variants_with_reason`).

    >>> phone_variants("+5491123456789")
    ('+541123456789', '+54111523456789')

    Raises:
        InvalidPhoneNumber: ``e164`` is not an E.164 string with a known country code.
    """
    return tuple(variant for variant, _ in phone_variants_with_reason(e164))
