"""The SQLite store's contact repository: campaigns, lines, companies and contacts (K1, M3).

* K1 - ``contacts`` is keyed by (campaign, code): a second contact with a code in
  use is refused with ``DuplicateContact``.
* M3, M5 - the phone index (``phone_index``) holds, for each live contact (never a
  tombstone), its E.164 numbers, national significant numbers and 7-digit
  suffixes; lookups are index searches, remembered per connection until a contact
  changes.
* K2 - generated codes take their numbers from a counter per campaign (T5's
  counters: taken inside the unit of work, given back by its rollback, so an
  interrupted contact creation shifts no later code).
* K16 - ``company_names`` finds a company by name key (``CompanyNameIndex``).
* I4 - ``rename_contact`` moves a contact to a new code and reindexes its phones.
* X1, X2 - the identity index (``identity_index``) holds each live contact's
  :func:`~ccdomain.rules.matching.identity_keys` (email, Messenger and Instagram
  channels, document number, folded full name), reindexed with its phones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ccdomain._folding import name_key
from ccdomain.errors import DuplicateContact, RuleViolation, UnknownContact
from ccdomain.models import Campaign, Company, Contact, Line
from ccdomain.phones import national_number, phone_suffix
from ccdomain.rules.matching import identity_keys
from ccdomain.serialization import to_json
from ccdomain.sqlite.connection import _guarded, _UnitOfWorkBase

_PHONE, _NATIONAL, _SUFFIX = 0, 1, 2


def _phone_rows(contact: Contact) -> list[tuple[int, str, str, str]]:
    """The phone index rows of a contact: none for a tombstone (M3, M5)."""
    if contact.merged_into is not None:
        return []
    phones = contact.phones
    key = (contact.campaign, contact.code)
    rows = [(_PHONE, p, *key) for p in phones]
    rows += [(_NATIONAL, n, *key) for n in dict.fromkeys(national_number(p) for p in phones)]
    rows += [(_SUFFIX, s, *key) for s in dict.fromkeys(phone_suffix(p) for p in phones)]
    return rows


def _identity_rows(contact: Contact) -> list[tuple[str, str, str, str]]:
    """The identity index rows of a contact: none for a tombstone or an anonymized one."""
    return [(kind, key, contact.campaign, contact.code) for kind, key in identity_keys(contact)]


_INSERT_PHONES = "INSERT INTO phone_index (kind, key, campaign, code) VALUES (?, ?, ?, ?)"
_INSERT_IDENTITIES = "INSERT INTO identity_index (kind, key, campaign, code) VALUES (?, ?, ?, ?)"


class SqliteContactRepository(_UnitOfWorkBase):
    """Campaigns, lines, companies and contacts with the phone index (a part of
    :class:`~ccdomain.sqlite.SqliteUnitOfWork`, not used alone)."""

    @_guarded
    def put_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign (by id)."""
        self._put("campaigns", campaign.id, self._dump(campaign))

    @_guarded
    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with that id, or None."""
        return self._get("campaigns", campaign_id, Campaign)

    @_guarded
    def list_campaigns(self) -> Sequence[Campaign]:
        """Every campaign, by id."""
        return self._all("SELECT data FROM campaigns ORDER BY id", (), Campaign)

    @_guarded
    def put_line(self, line: Line) -> None:
        """Insert or replace a line by id."""
        self._put("lines", line.id, self._dump(line))

    @_guarded
    def get_line(self, line_id: str) -> Line | None:
        """The line with that id, or None."""
        return self._get("lines", line_id, Line)

    @_guarded
    def list_lines(self) -> Sequence[Line]:
        """Every line, by id."""
        return self._all("SELECT data FROM lines ORDER BY id", (), Line)

    @_guarded
    def put_company(self, company: Company) -> None:
        """Insert or replace a company by id."""
        key = name_key(company.name)
        self._put("companies", company.id, self._dump(company))
        self._wdb().execute(
            "INSERT INTO company_names (id, key) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET key = excluded.key",
            (company.id, key),
        )

    @_guarded
    def company_by_name_key(self, key: str) -> Company | None:
        """The company whose name key is ``key``, the smallest id first (CompanyNameIndex)."""
        return self._one(
            "SELECT c.data FROM company_names n JOIN companies c ON c.id = n.id "
            "WHERE n.key = ? ORDER BY n.id LIMIT 1",
            (key,),
            Company,
        )

    @_guarded
    def get_company(self, company_id: str) -> Company | None:
        """The company with that id, or None."""
        return self._get("companies", company_id, Company)

    @_guarded
    def list_companies(self) -> Sequence[Company]:
        """Every company, by id."""
        return self._all("SELECT data FROM companies ORDER BY id", (), Company)

    def _put(self, table: str, key: str, data: str) -> None:
        self._forget((table, key))
        self._wdb().execute(
            f"INSERT INTO {table} (id, data) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            (key, data),
        )

    def _forget_phones(self) -> None:
        """Drop remembered phone lookups: a contact is about to change."""
        conn = self._conn
        if conn is not None:
            conn.phones.clear()

    # -- contacts ------------------------------------------------------------------------------

    @_guarded
    def add_contact(self, contact: Contact) -> None:
        """Insert a new contact; DuplicateContact if its code exists in its campaign (K1)."""
        rows = _phone_rows(contact)
        db = self._wdb()
        self._forget_phones()
        try:
            db.execute(
                "INSERT INTO contacts (campaign, code, data) VALUES (?, ?, ?)",
                (contact.campaign, contact.code, to_json(contact)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{contact.campaign!r}; expected a code not used in that campaign"
            ) from exc
        if rows:
            db.executemany(_INSERT_PHONES, rows)
        identities = _identity_rows(contact)
        if identities:
            db.executemany(_INSERT_IDENTITIES, identities)

    @_guarded
    def update_contact(self, contact: Contact) -> None:
        """Replace the stored contact with the same (campaign, code), reindexing phones."""
        rows = _phone_rows(contact)
        key = (contact.campaign, contact.code)
        db = self._wdb()
        self._forget_phones()
        cursor = db.execute(
            "UPDATE contacts SET data = ? WHERE campaign = ? AND code = ?",
            (to_json(contact), *key),
        )
        if cursor.rowcount == 0:
            raise UnknownContact(
                f"no contact with code {contact.code!r} in campaign {contact.campaign!r}"
            )
        db.execute("DELETE FROM phone_index WHERE campaign = ? AND code = ?", key)
        db.execute("DELETE FROM identity_index WHERE campaign = ? AND code = ?", key)
        if rows:
            db.executemany(_INSERT_PHONES, rows)
        identities = _identity_rows(contact)
        if identities:
            db.executemany(_INSERT_IDENTITIES, identities)

    @_guarded
    def get_contact(self, campaign: str, code: str) -> Contact | None:
        """The stored contact (tombstones included) with that code, or None."""
        return self._one(
            "SELECT data FROM contacts WHERE campaign = ? AND code = ?", (campaign, code), Contact
        )

    @_guarded
    def list_contacts(self, campaign: str | None = None) -> Sequence[Contact]:
        """Contacts of a campaign (or all), by (campaign, code)."""
        if campaign is None:
            return self._all("SELECT data FROM contacts ORDER BY campaign, code", (), Contact)
        return self._all(
            "SELECT data FROM contacts WHERE campaign = ? ORDER BY code", (campaign,), Contact
        )

    def _by_phone_key(self, kind: int, key: str) -> list[Contact]:
        self._db()  # begins the transaction when due, so ``conn.active`` is current
        conn = self._conn
        if conn is not None and conn.active and type(key) is str:
            found = conn.phones.get((kind, key))
            if found is None:
                found = conn.phones[kind, key] = tuple(self._phone_lookup(kind, key))
            return list(found)
        return self._phone_lookup(kind, key)

    def _phone_lookup(self, kind: int, key: str) -> list[Contact]:
        return self._all(
            "SELECT c.data FROM phone_index AS p "
            "JOIN contacts AS c ON c.campaign = p.campaign AND c.code = p.code "
            "WHERE p.kind = ? AND p.key = ? ORDER BY p.rowid",
            (kind, key),
            Contact,
        )

    @_guarded
    def contacts_by_phone(self, e164: str) -> Sequence[Contact]:
        """Live contacts with this exact E.164 phone (index lookup)."""
        return self._by_phone_key(_PHONE, e164)

    @_guarded
    def contacts_by_national_number(self, national: str) -> Sequence[Contact]:
        """Live contacts with a phone of this national significant number (index lookup)."""
        return self._by_phone_key(_NATIONAL, national)

    @_guarded
    def contacts_by_phone_suffix(self, suffix: str) -> Sequence[Contact]:
        """Live contacts with a phone ending in these 7 digits (index lookup)."""
        return self._by_phone_key(_SUFFIX, suffix)

    @_guarded
    def contacts_by_identity(self, kind: str, key: str) -> Sequence[Contact]:
        """Live contacts with this identity key (X1, X2: email, messenger, instagram,
        document, name; index lookup)."""
        self._db()  # begins the transaction when due, so ``conn.active`` is current
        conn = self._conn
        if conn is not None and conn.active and type(kind) is str and type(key) is str:
            found = conn.phones.get((kind, key))
            if found is None:
                found = conn.phones[kind, key] = tuple(self._identity_lookup(kind, key))
            return list(found)
        return self._identity_lookup(kind, key)

    def _identity_lookup(self, kind: str, key: str) -> list[Contact]:
        return self._all(
            "SELECT c.data FROM identity_index AS i "
            "JOIN contacts AS c ON c.campaign = i.campaign AND c.code = i.code "
            "WHERE i.kind = ? AND i.key = ? ORDER BY i.rowid",
            (kind, key),
            Contact,
        )

    @_guarded
    def next_contact_number(self, campaign: str) -> int:
        """The next number of this campaign's generated codes; a rollback gives it back (T5)."""
        return self._next(f"contact:{campaign}")

    @_guarded
    def rename_contact(self, campaign: str, code: str, contact: Contact) -> None:
        """Replace the contact (campaign, code) by ``contact``, which may carry a new code (I4)."""
        if contact.campaign != campaign:
            raise RuleViolation(
                f"contact {code!r} belongs to campaign {campaign!r}; "
                f"it cannot move to {contact.campaign!r}"
            )
        rows = _phone_rows(contact)
        db = self._wdb()
        self._forget_phones()
        db.execute("DELETE FROM phone_index WHERE campaign = ? AND code = ?", (campaign, code))
        db.execute("DELETE FROM identity_index WHERE campaign = ? AND code = ?", (campaign, code))
        try:
            cursor = db.execute(
                "UPDATE contacts SET code = ?, data = ? WHERE campaign = ? AND code = ?",
                (contact.code, to_json(contact), campaign, code),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{campaign!r}; expected a code not used in that campaign"
            ) from exc
        if cursor.rowcount == 0:
            raise UnknownContact(f"no contact with code {code!r} in campaign {campaign!r}")
        if rows:
            db.executemany(_INSERT_PHONES, rows)
        identities = _identity_rows(contact)
        if identities:
            db.executemany(_INSERT_IDENTITIES, identities)
