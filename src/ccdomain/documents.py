"""Identity documents (K3, and the contact code of K2), in the manner of python-stdnum.

A document has a type and a number. Every :class:`DocumentType` offers the four
python-stdnum functions: ``compact`` (drop spaces, dots and dashes, upper case),
``validate`` (format and, where the type has one, check digit; returns the
compact form), ``is_valid`` (never raises) and ``format`` (display form).
Peru's own types come first (DNI, CE, RUC, PASAPORTE: the product is Peruvian,
so a bare ``"DNI"`` is Peru's); other countries' types delegate to
python-stdnum, never to a hand-written check-digit algorithm.

The contact code of K2 is the compact number::

    >>> document = make_document("rut", "12.531.909-2")
    >>> document
    Document(type='CL_RUT', number='125319092')
    >>> document_code(document)
    '125319092'
    >>> format_document(document)
    '12.531.909-2'
    >>> make_document("DNI", "1011741")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ccdomain.errors.InvalidDocument: '1011741' is not a valid DNI (...): ...; expected 8 digits
"""

from __future__ import annotations

import re
import types
import unicodedata
from collections.abc import Callable, Mapping

import attrs
from stdnum.ar import cuit as ar_cuit
from stdnum.ar import dni as ar_dni
from stdnum.br import cnpj as br_cnpj
from stdnum.br import cpf as br_cpf
from stdnum.cl import rut as cl_rut
from stdnum.co import nit as co_nit
from stdnum.ec import ci as ec_ci
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.exceptions import InvalidFormat, InvalidLength, ValidationError
from stdnum.mx import curp as mx_curp
from stdnum.mx import rfc as mx_rfc
from stdnum.pe import cui as pe_cui
from stdnum.pe import ruc as pe_ruc
from stdnum.util import clean as stdnum_clean

from ccdomain.checks import DOCUMENT_TEXT_MAX
from ccdomain.errors import InvalidDocument
from ccdomain.errors import show as _show

__all__ = [
    "DOCUMENT_TYPES",
    "Document",
    "DocumentType",
    "document_code",
    "document_type",
    "format_document",
    "make_document",
]

# Longer input is refused before any parsing: no real document comes near it.
_MAX_INPUT_LENGTH = DOCUMENT_TEXT_MAX

# What stdnum (or our own validators) may raise on a bad number. ValidationError
# is a ValueError; the others come out of stdnum on odd input it did not expect.
_NUMBER_ERRORS = (ValueError, LookupError, TypeError, AttributeError, ArithmeticError)

_SEPARATORS = str.maketrans("", "", ".-")
_DIGITS_8 = re.compile(r"[0-9]{8}")
_CE_NUMBER = re.compile(r"[A-Z0-9]{9,12}")
_PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{6,12}")


def _clean(number: str) -> str:
    """Upper-case and drop whitespace, dots and dashes: the compact form of K2.

    stdnum's ``clean`` first turns look-alikes (en dashes, middle dots, no-break
    spaces pasted from documents) into their ASCII separator.
    """
    return "".join(stdnum_clean(number.upper()).split()).translate(_SEPARATORS)


def _reason(error: Exception) -> str:
    """Turn a stdnum message ("The number has an invalid length.") into a clause."""
    text = str(error).strip().rstrip(".") if isinstance(error, ValidationError) else ""
    if not text:
        return "the number has an invalid format"
    return text[0].lower() + text[1:]


def _unchanged(number: str) -> str:
    """Return the number as it is (compact or display form of types without one)."""
    return number


@attrs.frozen(kw_only=True)
class DocumentType:
    """One kind of identity document (K3), with python-stdnum's four functions.

    Build new ones only for tests; the known types are in :data:`DOCUMENT_TYPES`.

    Attributes:
        code: canonical type code, e.g. ``"DNI"`` or ``"CL_RUT"``.
        country: ISO 3166 alpha-2 code of the issuing country's catalogue.
        name: human name of the document.
        expected: what a valid number looks like, quoted in error messages.
        check_digit: whether validation verifies a check digit.
        aliases: other codes that name this type (normalized form, e.g. ``"RUT"``).
    """

    code: str
    country: str
    name: str
    expected: str
    check_digit: bool
    aliases: tuple[str, ...] = ()
    _compact_number: Callable[[str], str] = attrs.field(repr=False)
    _validate_number: Callable[[str], str] = attrs.field(repr=False)
    _format_number: Callable[[str], str] = attrs.field(repr=False, default=_unchanged)

    def compact(self, number: str) -> str:
        """Return the number without spaces, dots or dashes, upper case; it is not validated.

        Raises:
            InvalidDocument: ``number`` is not a string.
        """
        text = _as_text(self, number)
        try:
            # Cleaned again: a stdnum compact may keep a dot or dash that K2 drops.
            return _clean(str(self._compact_number(_clean(text))))
        except _NUMBER_ERRORS as error:
            raise self._invalid(number, _reason(error)) from error

    def validate(self, number: str) -> str:
        """Check the number's format and check digit and return its compact form.

        Raises:
            InvalidDocument: naming the value, this type and what was expected.

        >>> DOCUMENT_TYPES["RUC"].validate("20512333797")
        '20512333797'
        """
        text = _as_text(self, number)
        if len(text) > _MAX_INPUT_LENGTH:
            raise self._invalid(number, f"it is longer than {_MAX_INPUT_LENGTH} characters")
        try:
            return str(self._validate_number(_clean(text)))
        except _NUMBER_ERRORS as error:
            raise self._invalid(number, _reason(error)) from error

    def is_valid(self, number: object) -> bool:
        """Tell whether ``number`` is a valid number of this type; never raises."""
        if not isinstance(number, str):
            return False
        try:
            self.validate(number)
        except InvalidDocument:
            return False
        return True

    def format(self, number: str) -> str:
        """Return the number in its usual display form (``12.531.909-2``); validates first.

        Raises:
            InvalidDocument: the number is not valid for this type.
        """
        compact = self.validate(number)
        try:
            return str(self._format_number(compact))
        except _NUMBER_ERRORS as error:  # pragma: no cover - stdnum formats valid numbers
            raise self._invalid(number, _reason(error)) from error

    def _invalid(self, number: object, reason: str) -> InvalidDocument:
        return InvalidDocument(
            f"{_show(number)} is not a valid {self._label()}: {reason}; expected {self.expected}"
        )

    def _label(self) -> str:
        return f"{self.code} ({self.name}, {self.country})"


def _as_text(kind: DocumentType, number: object) -> str:
    """Return ``number`` if it is a string, else refuse it naming the value and the type."""
    if not isinstance(number, str):
        raise kind._invalid(number, f"it is not a text (got {type(number).__name__})")
    return number


def _pe_dni(number: str) -> str:
    """Validate a Peruvian DNI: exactly 8 digits, without the CUI check character."""
    if len(number) == 9 and pe_cui.is_valid(number):
        raise InvalidLength(
            "The number ends in the check character printed after the dash, "
            "which is not part of the DNI."
        )
    if len(number) != 8:
        raise InvalidLength()
    if not _DIGITS_8.fullmatch(number):
        raise InvalidFormat()
    return number


def _pe_ce(number: str) -> str:
    """Validate a Peruvian carné de extranjería: 9 to 12 letters or digits (no check digit)."""
    if not 9 <= len(number) <= 12:
        raise InvalidLength()
    if not _CE_NUMBER.fullmatch(number):
        raise InvalidFormat()
    return number


def _passport(number: str) -> str:
    """Validate a passport number of any country: 6 to 12 letters or digits."""
    if not 6 <= len(number) <= 12:
        raise InvalidLength()
    if not _PASSPORT_NUMBER.fullmatch(number):
        raise InvalidFormat()
    return number


def _stdnum_type(
    module: types.ModuleType,
    *,
    code: str,
    country: str,
    name: str,
    expected: str,
    aliases: tuple[str, ...] = (),
    check_digit: bool = True,
) -> DocumentType:
    """Make a DocumentType whose functions are those of a python-stdnum module."""
    return DocumentType(
        code=code,
        country=country,
        name=name,
        expected=expected,
        check_digit=check_digit,
        aliases=aliases,
        compact_number=module.compact,
        validate_number=module.validate,
        format_number=getattr(module, "format", _unchanged),
    )


def _own_type(
    validate: Callable[[str], str],
    *,
    code: str,
    name: str,
    expected: str,
    aliases: tuple[str, ...] = (),
) -> DocumentType:
    """Make a Peruvian DocumentType without a check digit, validated by ``validate``."""
    return DocumentType(
        code=code,
        country="PE",
        name=name,
        expected=expected,
        check_digit=False,
        aliases=aliases,
        compact_number=_unchanged,
        validate_number=validate,
    )


_ALL_TYPES = (
    _own_type(
        _pe_dni,
        code="DNI",
        name="Documento Nacional de Identidad",
        expected="8 digits",
        aliases=("PE_DNI",),
    ),
    _own_type(
        _pe_ce,
        code="CE",
        name="Carné de Extranjería",
        expected="9 to 12 letters or digits",
        aliases=("PE_CE", "CARNE_DE_EXTRANJERIA", "CARNET_DE_EXTRANJERIA"),
    ),
    _stdnum_type(
        pe_ruc,
        code="RUC",
        country="PE",
        name="Registro Único de Contribuyentes",
        expected="11 digits starting with 10, 15, 17 or 20 and a valid check digit",
        aliases=("PE_RUC",),
    ),
    # Listed in Peru's catalogue of document types (SUNAT: DNI, CE, RUC,
    # pasaporte); the passport itself may be from any country.
    _own_type(
        _passport,
        code="PASAPORTE",
        name="Pasaporte",
        expected="6 to 12 letters or digits",
        aliases=("PASSPORT", "PE_PASAPORTE"),
    ),
    _stdnum_type(
        ar_cuit,
        code="AR_CUIT",
        country="AR",
        name="Clave Única de Identificación Tributaria",
        expected="11 digits with a valid check digit, e.g. 20-05536168-2",
        aliases=("CUIT",),
    ),
    _stdnum_type(
        ar_dni,
        code="AR_DNI",
        country="AR",
        name="Documento Nacional de Identidad",
        expected="7 or 8 digits, e.g. 20.123.456",
        check_digit=False,
    ),
    _stdnum_type(
        br_cnpj,
        code="BR_CNPJ",
        country="BR",
        name="Cadastro Nacional da Pessoa Jurídica",
        expected="14 letters or digits ending in 2 valid check digits, e.g. 16.727.230/0001-97",
        aliases=("CNPJ",),
    ),
    _stdnum_type(
        br_cpf,
        code="BR_CPF",
        country="BR",
        name="Cadastro de Pessoas Físicas",
        expected="11 digits ending in 2 valid check digits, e.g. 390.533.447-05",
        aliases=("CPF",),
    ),
    _stdnum_type(
        cl_rut,
        code="CL_RUT",
        country="CL",
        name="Rol Único Tributario",
        expected="7 or 8 digits and a valid check digit (0-9 or K), e.g. 12.531.909-2",
        aliases=("RUT", "RUN", "CL_RUN"),
    ),
    _stdnum_type(
        co_nit,
        code="CO_NIT",
        country="CO",
        name="Número de Identificación Tributaria",
        expected="8 to 16 digits ending in a valid check digit, e.g. 213.123.432-1",
        aliases=("NIT",),
    ),
    _stdnum_type(
        ec_ci,
        code="EC_CI",
        country="EC",
        name="Cédula de Identidad",
        expected="10 digits: province, sequence and a valid check digit, e.g. 171430710-3",
        aliases=("CI",),
    ),
    _stdnum_type(
        es_dni,
        code="ES_DNI",
        country="ES",
        name="Documento Nacional de Identidad",
        expected="8 digits and a valid check letter, e.g. 54362315-K",
        aliases=("NIF",),
    ),
    _stdnum_type(
        es_nie,
        code="ES_NIE",
        country="ES",
        name="Número de Identidad de Extranjero",
        expected="X, Y or Z, 7 digits and a valid check letter, e.g. X-2482300-W",
        aliases=("NIE",),
    ),
    _stdnum_type(
        mx_curp,
        code="MX_CURP",
        country="MX",
        name="Clave Única de Registro de Población",
        expected="18 letters and digits with a valid check digit, e.g. BOXW310820HNERXN09",
        aliases=("CURP",),
    ),
    # stdnum checks an RFC's letters, digits and date but, by default, not its
    # check digits: about 1.5% of RFCs in real use carry wrong ones, and a
    # contact center must not refuse a customer's real tax number.
    _stdnum_type(
        mx_rfc,
        code="MX_RFC",
        country="MX",
        name="Registro Federal de Contribuyentes",
        expected="4 letters and a birth date (person, e.g. GODE 561231 GR8) or 3 letters "
        "and a date (company, e.g. MAB-930714-8T4), then an optional 3-character suffix",
        aliases=("RFC",),
        check_digit=False,
    ),
)

DOCUMENT_TYPES: Mapping[str, DocumentType] = types.MappingProxyType(
    {document.code: document for document in _ALL_TYPES}
)
"""Every known document type by canonical code (read-only)."""

_ALIASES: Mapping[str, str] = types.MappingProxyType(
    {alias: document.code for document in _ALL_TYPES for alias in document.aliases}
)


def _code_key(code: str) -> str:
    """Normalize a type code: no accents or dots, upper case, words joined by ``_``."""
    decomposed = unicodedata.normalize("NFKD", code)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.split(r"[\s_\-]+", plain.replace(".", "").upper())
    return "_".join(word for word in words if word)


def document_type(code: object) -> DocumentType:
    """Return the document type named by ``code``, its canonical code or an alias.

    Case, accents, dots and the separators space, ``-`` and ``_`` do not matter
    (``"cl-rut"``, ``"CL RUT"`` and ``"rut"`` all name ``CL_RUT``). A bare
    ``"DNI"`` is Peru's; Spain's is ``"ES_DNI"``.

    Raises:
        InvalidDocument: the code names no known type; the message lists them.

    >>> document_type("Carné de extranjería").code
    'CE'
    """
    if isinstance(code, DocumentType):
        return code
    if isinstance(code, str) and len(code) <= _MAX_INPUT_LENGTH:
        key = _code_key(code)
        found = DOCUMENT_TYPES.get(key) or DOCUMENT_TYPES.get(_ALIASES.get(key, ""))
        if found is not None:
            return found
    raise InvalidDocument(
        f"{_show(code)} is not a known document type; expected one of "
        f"{', '.join(DOCUMENT_TYPES)} (or an alias such as RUT, CPF, PASSPORT)"
    )


@attrs.frozen
class Document:
    """An identity document: canonical type code and compact number (K3).

    A plain record: :func:`make_document` validates; this class does not, so
    stored documents load back as they were saved.
    """

    type: str
    number: str


def make_document(type: object, number: object) -> Document:
    """Validate a document and return it with the canonical type code and compact number.

    Args:
        type: a type code or alias (``"DNI"``, ``"rut"``, ``"CL-RUT"``) or a DocumentType.
        number: the number as typed, with or without spaces, dots and dashes.

    Raises:
        InvalidDocument: the type is unknown or the number does not fit it.

    >>> make_document("cpf", "390.533.447-05")
    Document(type='BR_CPF', number='39053344705')
    """
    kind = document_type(type)
    return Document(type=kind.code, number=kind.validate(_as_text(kind, number)))


def document_code(document: Document) -> str:
    """Return the contact code a document gives (K2): its compact number, upper case.

    The number is validated again, so a hand-built :class:`Document` cannot
    yield a code that :func:`make_document` would refuse.

    Raises:
        InvalidDocument: ``document`` is not a valid Document.
    """
    if not isinstance(document, Document):
        raise InvalidDocument(f"{_show(document)} is not a Document; expected a Document")
    return make_document(document.type, document.number).number.upper()


def format_document(document: Document) -> str:
    """Return the document number in its type's display form (``12.531.909-2``).

    Raises:
        InvalidDocument: ``document`` is not a valid Document.
    """
    if not isinstance(document, Document):
        raise InvalidDocument(f"{_show(document)} is not a Document; expected a Document")
    return document_type(document.type).format(document.number)
