"""The PostgreSQL store's contact repository: campaigns, lines, companies, contacts (K1, M3).

* K1 - ``contacts`` is keyed by (campaign, code): a second contact with a code in
  use is refused with ``DuplicateContact`` (``ON CONFLICT DO NOTHING``, so the
  transaction goes on).
* M3, M5 - the phone index holds, for each live contact (never a tombstone), its
  E.164 numbers, national significant numbers and 7-digit suffixes; lookups are index
  searches, returned in the order contacts were indexed.
* K2 - generated codes take their numbers from a counter row per campaign (T5).
* K16 - ``company_names`` finds a company by name key (``CompanyNameIndex``).
* M5, I4 - ``get_contact`` in a unit of work locks the contact's row (``FOR UPDATE``):
  the services that read one contact change it next, and a concurrent edit waits for
  this one's commit instead of overwriting it.
* I4 - ``rename_contact`` moves a contact to a new code and reindexes its phones.
* X1, X2 - the identity index (``identity_index``) holds each live contact's
  :func:`~ccdomain.rules.matching.identity_keys` (email, Messenger and Instagram
  channels, document number, folded full name; none for a tombstone or an anonymized
  contact), reindexed with its phones; lookups in the order contacts were indexed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccdomain._folding import name_key
from ccdomain.errors import DuplicateContact, RuleViolation, StoreUnavailable, UnknownContact
from ccdomain.models import Campaign, Company, Contact, Line
from ccdomain.phones import national_number, phone_suffix
from ccdomain.postgres.connection import _guarded, _Session, _UnitOfWorkBase
from ccdomain.rules.matching import identity_keys

_PHONE, _NATIONAL, _SUFFIX = 0, 1, 2
_IDENTITY_VERSION = 3  # the schema version that created the identity index
_INSERT_PHONE = b"INSERT INTO phone_index (kind, key, campaign, code) VALUES (%s, %s, %s, %s)"
_INSERT_IDENTITY = b"INSERT INTO identity_index (kind, key, campaign, code) VALUES (%s, %s, %s, %s)"


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


def _index(
    db: _Session, rows: list[tuple[int, str, str, str]], identities: list[tuple[str, str, str, str]]
) -> None:
    """Insert a contact's phone and identity index rows (one round trip: a pipeline)."""
    db.tx.phones_seen.clear()
    queries: list[tuple[bytes, tuple[object, ...]]] = [(_INSERT_PHONE, row) for row in rows]
    queries += [(_INSERT_IDENTITY, row) for row in identities]
    if queries:
        db.execute_all(queries)


def _unindex(db: _Session, campaign: str, code: str) -> None:
    """Drop a contact's phone and identity index rows (one round trip)."""
    db.tx.phones_seen.clear()
    db.execute_all(
        [
            (b"DELETE FROM phone_index WHERE campaign = %s AND code = %s", (campaign, code)),
            (b"DELETE FROM identity_index WHERE campaign = %s AND code = %s", (campaign, code)),
        ]
    )


class PostgresContactRepository(_UnitOfWorkBase):
    """Campaigns, lines, companies and contacts with the phone index (a part of
    :class:`~ccdomain.postgres.PostgresUnitOfWork`, not used alone)."""

    @_guarded
    def put_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign (by id)."""
        self._put("campaigns", campaign.id, self._dump(campaign))
        self._db().uncached()

    @_guarded
    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with that id, or None."""
        return self._cached("campaigns", campaign_id, Campaign)

    @_guarded
    def list_campaigns(self) -> Sequence[Campaign]:
        """Every campaign, by id."""
        return self._all(b"SELECT data FROM campaigns ORDER BY id", (), Campaign)

    @_guarded
    def put_line(self, line: Line) -> None:
        """Insert or replace a line by id."""
        self._put("lines", line.id, self._dump(line))
        self._db().uncached()

    @_guarded
    def get_line(self, line_id: str) -> Line | None:
        """The line with that id, or None."""
        found = self._cached("lines", line_id, Line)
        if found is not None:
            tx = self._tx
            assert tx is not None
            tx.line_campaign = found.campaign
            tx.line_id = found.id
        return found

    @_guarded
    def list_lines(self) -> Sequence[Line]:
        """Every line, by id."""
        return self._all(b"SELECT data FROM lines ORDER BY id", (), Line)

    @_guarded
    def put_company(self, company: Company) -> None:
        """Insert or replace a company by id."""
        key = name_key(company.name)
        self._put("companies", company.id, self._dump(company))
        self._wdb().execute(
            b"INSERT INTO company_names (id, key) VALUES (%s, %s) "
            b"ON CONFLICT (id) DO UPDATE SET key = excluded.key",
            (company.id, key),
        )

    @_guarded
    def company_by_name_key(self, key: str) -> Company | None:
        """The company whose name key is ``key``, the smallest id first (CompanyNameIndex)."""
        return self._one(
            b"SELECT c.data FROM company_names n JOIN companies c ON c.id = n.id "
            b"WHERE n.key = %s ORDER BY n.id LIMIT 1",
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
        return self._all(b"SELECT data FROM companies ORDER BY id", (), Company)

    # -- contacts ------------------------------------------------------------------------------

    @_guarded
    def add_contact(self, contact: Contact) -> None:
        """Insert a new contact; DuplicateContact if its code exists in its campaign (K1)."""
        rows = _phone_rows(contact)
        db = self._wdb()
        added = db.execute(
            b"INSERT INTO contacts (campaign, code, data) VALUES (%s, %s, %s) "
            b"ON CONFLICT DO NOTHING",
            (contact.campaign, contact.code, self._dump(contact)),
        ).rowcount
        if added != 1:
            raise DuplicateContact(
                f"a contact with code {contact.code!r} already exists in campaign "
                f"{contact.campaign!r}; expected a code not used in that campaign"
            )
        _index(db, rows, _identity_rows(contact))

    @_guarded
    def update_contact(self, contact: Contact) -> None:
        """Replace the stored contact with the same (campaign, code), reindexing phones."""
        rows = _phone_rows(contact)
        key = (contact.campaign, contact.code)
        db = self._wdb()
        changed = db.execute(
            b"UPDATE contacts SET data = %s WHERE campaign = %s AND code = %s",
            (self._dump(contact), *key),
        ).rowcount
        if changed == 0:
            raise UnknownContact(
                f"no contact with code {contact.code!r} in campaign {contact.campaign!r}"
            )
        _unindex(db, *key)
        _index(db, rows, _identity_rows(contact))

    @_guarded
    def get_contact(self, campaign: str, code: str) -> Contact | None:
        """The stored contact (tombstones included) with that code, or None."""
        # Locked in a unit of work that may write: the services that read one contact
        # change it next (an edit, a merge, an anonymization), and a concurrent one waits.
        query = b"SELECT data FROM contacts WHERE campaign = %s AND code = %s"
        return self._one(
            query + b" FOR UPDATE" if self._locking else query, (campaign, code), Contact
        )

    @_guarded
    def list_contacts(self, campaign: str | None = None) -> Sequence[Contact]:
        """Contacts of a campaign (or all), by (campaign, code)."""
        if campaign is None:
            return self._all(b"SELECT data FROM contacts ORDER BY campaign, code", (), Contact)
        return self._all(
            b"SELECT data FROM contacts WHERE campaign = %s ORDER BY code", (campaign,), Contact
        )

    def _by_phone_key(self, kind: int, key: str) -> list[Contact]:
        return self._all(
            b"SELECT c.data FROM phone_index AS p "
            b"JOIN contacts AS c ON c.campaign = p.campaign AND c.code = p.code "
            b"WHERE p.kind = %s AND p.key = %s ORDER BY p.id",
            (kind, key),
            Contact,
        )

    @_guarded
    def contacts_by_phone(self, e164: str) -> Sequence[Contact]:
        """Live contacts with this exact E.164 phone (index lookup)."""
        tx = self._tx
        assert tx is not None
        seen = tx.phones_seen.get(e164) if type(e164) is str else None
        if seen is not None:  # read with a key's open ticket, no contact indexed since
            return [self._load(text, Contact) for text in seen]
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
        version = self._schema_version
        if version < _IDENTITY_VERSION:
            raise StoreUnavailable(
                f"cannot look contacts up by {kind!r:.40} in {self._store.where}: its schema has "
                f"version {version}, without the identity index (version {_IDENTITY_VERSION}); "
                "expected it opened for writing once, which migrates it"
            )
        return self._all(
            b"SELECT c.data FROM identity_index AS i "
            b"JOIN contacts AS c ON c.campaign = i.campaign AND c.code = i.code "
            b"WHERE i.kind = %s AND i.key = %s ORDER BY i.id",
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
        if contact.code != code:
            taken = db.execute(
                b"SELECT 1 FROM contacts WHERE campaign = %s AND code = %s",
                (campaign, contact.code),
            ).fetchone()
            if taken is not None:
                raise DuplicateContact(
                    f"a contact with code {contact.code!r} already exists in campaign "
                    f"{campaign!r}; expected a code not used in that campaign"
                )
        if (
            db.execute(
                b"SELECT 1 FROM contacts WHERE campaign = %s AND code = %s FOR UPDATE",
                (campaign, code),
            ).fetchone()
            is None
        ):
            raise UnknownContact(f"no contact with code {code!r} in campaign {campaign!r}")
        _unindex(db, campaign, code)
        db.execute(
            b"UPDATE contacts SET code = %s, data = %s WHERE campaign = %s AND code = %s",
            (contact.code, self._dump(contact), campaign, code),
        )
        _index(db, rows, _identity_rows(contact))
