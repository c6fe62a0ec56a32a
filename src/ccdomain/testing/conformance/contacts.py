"""Conformance of the contact repository: campaigns, lines, companies, contacts.

Rules: K1, K2, K16, M3, M5, I4, X1, X2.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdomain.contacts import name_key
from ccdomain.documents import Document
from ccdomain.errors import (
    DuplicateContact,
    RuleViolation,
    UnknownContact,
)
from ccdomain.models import (
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    ContactChannel,
    Line,
)
from ccdomain.ports import CompanyNameIndex
from ccdomain.rules.matching import identity_keys
from ccdomain.testing import strategies as cst
from ccdomain.testing.conformance.case import (
    OTHER_PHONE,
    PHONE,
    StoreCase,
    _codes,
    _contact,
    _properties,
)

__all__ = ["ContactRepositoryConformance"]


class ContactRepositoryConformance(StoreCase):
    """Campaigns, lines, companies, contacts and the phone index (K1, K2, M3, M5)."""

    def test_K1_campaigns_put_replace_get_list_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_campaign(Campaign(id="ventas", name="Ventas"))
            uow.put_campaign(Campaign(id="cobranzas", kind="collections"))
            uow.put_campaign(Campaign(id="ventas", name="Ventas 2026"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_campaign("ventas") == Campaign(id="ventas", name="Ventas 2026")
            assert uow.get_campaign("nope") is None
            assert [c.id for c in uow.list_campaigns()] == ["cobranzas", "ventas"]

    def test_T6_lines_put_replace_get_list_by_id(self) -> None:
        wa = Line(id="wa-main", channel=Channel.WHATSAPP, address="+5117001234", campaign="v")
        with self.uow() as uow:
            uow.put_line(wa)
            uow.put_line(Line(id="call-1", channel=Channel.CALL, address="+5117001235"))
            uow.put_line(attrs.evolve(wa, alias="WhatsApp principal"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_line("wa-main") == attrs.evolve(wa, alias="WhatsApp principal")
            assert uow.get_line("nope") is None
            assert [line.id for line in uow.list_lines()] == ["call-1", "wa-main"]

    def test_companies_put_replace_get_list_by_id(self) -> None:
        with self.uow() as uow:
            uow.put_company(Company(id="acme", name="ACME"))
            uow.put_company(Company(id="acme", name="ACME SAC", phone=PHONE))
            uow.put_company(Company(id="84", name="84 SA"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_company("acme") == Company(id="acme", name="ACME SAC", phone=PHONE)
            assert uow.get_company("nope") is None
            assert [c.id for c in uow.list_companies()] == ["84", "acme"]

    @_properties
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["20131312955", "N:acme", "b", "a"]),
                st.sampled_from(["ACME", "  acme ", "Ácme", "Zeta SAC", "zeta  sac"]),
                st.booleans(),
            ),
            max_size=8,
        )
    )
    def test_K16_companies_by_name_key_when_the_store_indexes_them(
        self, writes: list[tuple[str, str, bool]]
    ) -> None:
        """Optional (``CompanyNameIndex``): the answer a scan of every company gives."""
        with self.uow() as uow:
            if not isinstance(uow, CompanyNameIndex):
                return
            for company_id, name, keep in writes:
                with self.uow() as nested:  # a rolled-back write leaves no key behind
                    nested.put_company(Company(id=company_id, name=name))
                    if keep:
                        nested.commit()
            uow.commit()
        with self.uow() as uow:
            assert isinstance(uow, CompanyNameIndex)
            companies = uow.list_companies()
            for key in ("acme", "zeta sac", "nope"):
                expected = next((c for c in companies if name_key(c.name) == key), None)
                assert uow.company_by_name_key(key) == expected

    def test_K1_contacts_add_get_list_by_campaign_and_code(self) -> None:
        with self.uow() as uow:
            for campaign, code in [("b", "2"), ("a", "9"), ("b", "10"), ("a", "1")]:
                uow.add_contact(_contact(campaign, code, first_names=f"{campaign}{code}"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("a", "9") == _contact("a", "9", first_names="a9")
            assert uow.get_contact("a", "2") is None
            assert _codes(uow.list_contacts()) == [("a", "1"), ("a", "9"), ("b", "10"), ("b", "2")]
            assert _codes(uow.list_contacts("b")) == [("b", "10"), ("b", "2")]
            assert uow.list_contacts("zzz") == []

    def test_K1_duplicate_code_in_campaign_refused_and_changes_nothing(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "12345678", PHONE, first_names="José"))
            uow.add_contact(_contact("soporte", "12345678"))  # another campaign: fine
            with pytest.raises(DuplicateContact, match="12345678"):
                uow.add_contact(_contact("ventas", "12345678", OTHER_PHONE, first_names="Ana"))
            uow.commit()
        with self.uow() as uow:
            kept = uow.get_contact("ventas", "12345678")
            assert kept is not None and kept.first_names == "José"
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            assert len(uow.list_contacts()) == 2

    def test_K1_update_contact_replaces_and_unknown_refused(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "C-1", first_names="José"))
            uow.update_contact(_contact("ventas", "C-1", first_names="José Luis", vip=True))
            with pytest.raises(UnknownContact, match="C-2"):
                uow.update_contact(_contact("ventas", "C-2"))
            with pytest.raises(UnknownContact):
                uow.update_contact(_contact("soporte", "C-1"))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("ventas", "C-1") == _contact(
                "ventas", "C-1", first_names="José Luis", vip=True
            )
            assert uow.get_contact("ventas", "C-2") is None
            assert uow.get_contact("soporte", "C-1") is None

    def test_M3_phone_index_exact_national_and_suffix(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("soporte", "B", "+52987654321"))  # same national number
            uow.add_contact(_contact("ventas", "C", "+51917654321"))  # same last 7 digits
            uow.add_contact(_contact("ventas", "D", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [
                ("ventas", "A"),
                ("soporte", "B"),
            ]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [
                ("ventas", "A"),
                ("soporte", "B"),
                ("ventas", "C"),
            ]
            assert uow.contacts_by_phone("+51900000000") == []
            assert uow.contacts_by_national_number("900000000") == []
            assert uow.contacts_by_phone_suffix("0000000") == []
            found = uow.contacts_by_phone(OTHER_PHONE)
            assert found == [_contact("ventas", "D", OTHER_PHONE)]

    def test_M3_contact_with_two_phones_listed_once_per_key(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE, "+52987654321"))
            contact = _contact("ventas", "B", PHONE)
            uow.add_contact(attrs.evolve(contact, channels=(*contact.channels, *contact.channels)))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_national_number("987654321")) == [
                ("ventas", "A"),
                ("ventas", "B"),
            ]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [
                ("ventas", "A"),
                ("ventas", "B"),
            ]
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A"), ("ventas", "B")]

    def test_M3_phone_index_follows_updates_in_indexing_order(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("ventas", "B", PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A"), ("ventas", "B")]
            # Updating a contact reindexes it: it moves to the end of its keys.
            uow.update_contact(_contact("ventas", "A", PHONE, first_names="Ana"))
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "B"), ("ventas", "A")]
            # A changed phone: found by the new number only.
            uow.update_contact(_contact("ventas", "B", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_phone(OTHER_PHONE)) == [("ventas", "B")]
            assert _codes(uow.contacts_by_phone_suffix("2345678")) == [("ventas", "B")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [("ventas", "A")]
            # K5: deleting the last phone leaves the contact out of every key.
            uow.update_contact(_contact("ventas", "B"))
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            assert uow.contacts_by_phone_suffix("2345678") == []
            assert uow.contacts_by_national_number("912345678") == []

    def test_M5_tombstones_are_not_found_by_phone(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", PHONE))
            uow.add_contact(_contact("ventas", "B", PHONE))
            uow.add_contact(_contact("ventas", "T", OTHER_PHONE, merged_into="A"))
            uow.update_contact(_contact("ventas", "B", PHONE, merged_into="A"))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "A")]
            assert _codes(uow.contacts_by_national_number("987654321")) == [("ventas", "A")]
            assert _codes(uow.contacts_by_phone_suffix("7654321")) == [("ventas", "A")]
            assert uow.contacts_by_phone(OTHER_PHONE) == []
            # Tombstones stay readable and listed.
            tombstone = uow.get_contact("ventas", "B")
            assert tombstone is not None and tombstone.merged_into == "A"
            assert _codes(uow.list_contacts("ventas")) == [
                ("ventas", "A"),
                ("ventas", "B"),
                ("ventas", "T"),
            ]

    def test_I4_rename_contact_moves_code_and_phone_index(self) -> None:
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "12345678", PHONE, first_names="José"))
            uow.add_contact(_contact("ventas", "C-2", OTHER_PHONE))
            uow.commit()
        with self.uow() as uow:
            with pytest.raises(DuplicateContact, match="C-2"):
                uow.rename_contact("ventas", "12345678", _contact("ventas", "C-2"))
            with pytest.raises(UnknownContact, match="C-9"):
                uow.rename_contact("ventas", "C-9", _contact("ventas", "ANON-1"))
            with pytest.raises(RuleViolation, match="soporte"):
                uow.rename_contact("ventas", "12345678", _contact("soporte", "ANON-1"))
            uow.rename_contact("ventas", "12345678", _contact("ventas", "ANON-1", anonymized=True))
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact("ventas", "12345678") is None
            assert uow.get_contact("ventas", "ANON-1") == _contact(
                "ventas", "ANON-1", anonymized=True
            )
            assert uow.contacts_by_phone(PHONE) == []
            assert uow.contacts_by_phone_suffix("7654321") == []
            assert _codes(uow.list_contacts("ventas")) == [("ventas", "ANON-1"), ("ventas", "C-2")]
            # Renaming to the same code is a plain replacement, phones reindexed.
            uow.rename_contact("ventas", "C-2", _contact("ventas", "C-2", PHONE))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_phone(PHONE)) == [("ventas", "C-2")]
            assert uow.contacts_by_phone(OTHER_PHONE) == []

    def test_K2_next_contact_number_increases_per_campaign(self) -> None:
        with self.uow() as uow:
            first = [uow.next_contact_number("ventas") for _ in range(3)]
            other = uow.next_contact_number("soporte")
            uow.commit()
        with self.uow() as uow:
            later = uow.next_contact_number("ventas")
            uow.commit()
        assert first == sorted(set(first))
        assert later > first[-1]
        assert other >= 1

    def test_K2_T5_a_rolled_back_unit_gives_its_contact_numbers_back(self) -> None:
        """No gap in generated codes: a rolled-back unit's numbers are taken again."""
        with self.uow() as uow:
            first = uow.next_contact_number("ventas")
            uow.commit()
        with self.uow() as uow:  # left without commit
            assert uow.next_contact_number("ventas") == first + 1
        with pytest.raises(KeyboardInterrupt), self.uow() as uow:
            assert uow.next_contact_number("ventas") == first + 1
            raise KeyboardInterrupt
        with self.uow() as uow:
            with self.uow() as nested:  # a savepoint rolled back
                assert nested.next_contact_number("ventas") == first + 1
                assert nested.next_contact_number("ventas") == first + 2
            assert uow.next_contact_number("ventas") == first + 1
            uow.commit()
        with self.uow() as uow:
            assert uow.next_contact_number("ventas") == first + 2
            uow.commit()

    @_properties
    @given(contact=cst.contacts(retired=True))  # merge tombstones and anonymized ones too
    def test_K1_contact_round_trip(self, contact: Contact) -> None:
        with self.uow() as uow:
            if uow.get_contact(contact.campaign, contact.code) is None:
                uow.add_contact(contact)
            else:
                uow.update_contact(contact)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_contact(contact.campaign, contact.code) == contact
            for phone in contact.phones:
                assert contact in uow.contacts_by_phone(phone)

    @_properties
    @given(campaign=cst.campaigns(), line=cst.lines(), company=cst.companies())
    def test_campaign_line_company_round_trip(
        self, campaign: Campaign, line: Line, company: Company
    ) -> None:
        with self.uow() as uow:
            uow.put_campaign(campaign)
            uow.put_line(line)
            uow.put_company(company)
            uow.commit()
        with self.uow() as uow:
            assert uow.get_campaign(campaign.id) == campaign
            assert uow.get_line(line.id) == line
            assert uow.get_company(company.id) == company

    # --- X1, X2: the identity index ------------------------------------------------------------

    def test_X2_identity_index_email_channels_document_and_name(self) -> None:
        email = ContactChannel(kind=ChannelKind.EMAIL, value="jose@example.com")
        messenger = ContactChannel(kind=ChannelKind.MESSENGER, value="psid-77")
        instagram = ContactChannel(kind=ChannelKind.INSTAGRAM, value="pepe.perez")
        jose = _contact(
            "ventas",
            "12345678",
            PHONE,
            first_names="José",
            last_names="Pérez Soto",
            document=Document(type="DNI", number="12345678"),
            channels=(email, messenger, instagram),
        )
        with self.uow() as uow:
            uow.add_contact(jose)
            uow.add_contact(_contact("soporte", "C-1", channels=(email,)))
            uow.add_contact(_contact("ventas", "C-2", first_names="jose", last_names="PEREZ  soto"))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_identity("email", "jose@example.com")) == [
                ("ventas", "12345678"),
                ("soporte", "C-1"),
            ]
            assert _codes(uow.contacts_by_identity("messenger", "psid-77")) == [
                ("ventas", "12345678")
            ]
            assert _codes(uow.contacts_by_identity("instagram", "pepe.perez")) == [
                ("ventas", "12345678")
            ]
            assert _codes(uow.contacts_by_identity("document", "12345678")) == [
                ("ventas", "12345678")
            ]
            assert _codes(uow.contacts_by_identity("name", "jose perez soto")) == [
                ("ventas", "12345678"),
                ("ventas", "C-2"),
            ]
            assert uow.contacts_by_identity("email", "otro@example.com") == []
            assert uow.contacts_by_identity("name", "jose@example.com") == []
            assert uow.contacts_by_identity("email", "psid-77") == []
            [found] = uow.contacts_by_identity("document", "12345678")
            assert found == jose

    def test_X2_identity_index_follows_updates_merges_renames_and_rollbacks(self) -> None:
        email = ContactChannel(kind=ChannelKind.EMAIL, value="ana@example.com")
        with self.uow() as uow:
            uow.add_contact(_contact("ventas", "A", channels=(email,), first_names="Ana"))
            uow.add_contact(_contact("ventas", "B", channels=(email,)))
            uow.commit()
        with self.uow() as uow:
            assert _codes(uow.contacts_by_identity("email", "ana@example.com")) == [
                ("ventas", "A"),
                ("ventas", "B"),
            ]
            # Updating reindexes: moved to the end, and a changed email is found by the new one.
            uow.update_contact(_contact("ventas", "A", channels=(email,), first_names="Ana"))
            assert _codes(uow.contacts_by_identity("email", "ana@example.com")) == [
                ("ventas", "B"),
                ("ventas", "A"),
            ]
            other = ContactChannel(kind=ChannelKind.EMAIL, value="ana.q@example.com")
            uow.update_contact(_contact("ventas", "A", channels=(other,), first_names="Ana"))
            assert _codes(uow.contacts_by_identity("email", "ana@example.com")) == [("ventas", "B")]
            assert _codes(uow.contacts_by_identity("email", "ana.q@example.com")) == [
                ("ventas", "A")
            ]
            uow.commit()
        with self.uow() as uow:  # rolled back: the index too
            uow.update_contact(_contact("ventas", "B", merged_into="A", channels=(email,)))
            assert uow.contacts_by_identity("email", "ana@example.com") == []
        with self.uow() as uow:
            assert _codes(uow.contacts_by_identity("email", "ana@example.com")) == [("ventas", "B")]
            # A tombstone (M5) and an anonymized contact (I4) are found by nothing.
            uow.update_contact(_contact("ventas", "B", merged_into="A", channels=(email,)))
            uow.rename_contact(
                "ventas", "A", _contact("ventas", "ANON-1", first_names="Ana", anonymized=True)
            )
            uow.commit()
        with self.uow() as uow:
            assert uow.contacts_by_identity("email", "ana@example.com") == []
            assert uow.contacts_by_identity("email", "ana.q@example.com") == []
            assert uow.contacts_by_identity("name", "ana") == []

    @_properties
    @given(contact=cst.contacts())
    def test_X1_X2_a_contact_is_found_by_each_of_its_identity_keys(self, contact: Contact) -> None:
        with self.uow() as uow:
            if uow.get_contact(contact.campaign, contact.code) is None:
                uow.add_contact(contact)
            else:
                uow.update_contact(contact)
            uow.commit()
        with self.uow() as uow:
            for kind, key in identity_keys(contact):
                assert contact in uow.contacts_by_identity(kind, key)
