"""Contacts: campaigns, channels, avatar, addresses, custom fields, search (rules K1-K17).

The public names of the contacts family, re-exported from where they live:

- pure rules (records in, records out), in :mod:`ccdomain.rules`:
  :mod:`~ccdomain.rules.contacts` (campaigns and lines, codes K1/K2/K11,
  ``build_contact``, phones K5, K6, avatar K7/K13, companies K16, views),
  :mod:`~ccdomain.rules.contact_channels` (K4, K12),
  :mod:`~ccdomain.rules.addresses` (K8), :mod:`~ccdomain.rules.custom_fields`
  (K9, K14) and :mod:`~ccdomain.rules.search` (K10, K15);
- services (one unit of work each), in :mod:`ccdomain.services`:
  :mod:`~ccdomain.services.campaigns` (declare campaigns and lines),
  :mod:`~ccdomain.services.contacts` (create, edit, read, search; K17 in
  :mod:`~ccdomain.services._common`) and :mod:`~ccdomain.services.companies` (K16).

Services take the store first and everything else by keyword (``agent=`` for
the person acting, ``at=`` for the time). The call shapes from before that
convention (positional arguments, ``actor=``, ``raw=``, ``new_raw=``,
``value=``) still work with a DeprecationWarning until 1.0.
"""

from __future__ import annotations

from ccdomain._folding import fold, name_key
from ccdomain.documents import Document, make_document
from ccdomain.models import (
    Address,
    Campaign,
    ChannelKind,
    Company,
    Contact,
    ContactChannel,
    CustomFieldDef,
    CustomValue,
    FieldType,
    Line,
)
from ccdomain.rules.addresses import add_address, make_address, remove_address, set_primary_address
from ccdomain.rules.contact_channels import (
    CHANNEL_KIND_ORDER,
    channel_kind,
    dedupe_channels,
    normalize_channel,
)
from ccdomain.rules.contacts import (
    ContactDetail,
    PersonalData,
    add_phone,
    avatar,
    build_contact,
    channels_by_kind,
    check_template_precondition,
    code_for,
    contact_avatar,
    delete_phone,
    edit_contact,
    edit_phone,
    generated_code,
    make_campaign,
    make_company,
    make_line,
    personal_data_view,
)
from ccdomain.rules.custom_fields import convert_custom_values, make_custom_field
from ccdomain.rules.search import contact_matches
from ccdomain.services.campaigns import declare_campaign, declare_line
from ccdomain.services.companies import find_company, find_or_create_company
from ccdomain.services.contacts import (
    add_contact_address,
    add_contact_phone,
    contact_detail_view,
    create_contact,
    delete_contact_phone,
    edit_contact_phone,
    get_contact,
    live_contact,
    remove_contact_address,
    resolve_contact_code,
    search_contacts,
    set_contact_primary_address,
    update_contact,
)

__all__ = [
    "CHANNEL_KIND_ORDER",
    "Address",
    "Campaign",
    "ChannelKind",
    "Company",
    "Contact",
    "ContactChannel",
    "ContactDetail",
    "CustomFieldDef",
    "CustomValue",
    "Document",
    "FieldType",
    "Line",
    "PersonalData",
    "add_address",
    "add_contact_address",
    "add_contact_phone",
    "add_phone",
    "avatar",
    "build_contact",
    "channel_kind",
    "channels_by_kind",
    "check_template_precondition",
    "code_for",
    "contact_avatar",
    "contact_detail_view",
    "contact_matches",
    "convert_custom_values",
    "create_contact",
    "declare_campaign",
    "declare_line",
    "dedupe_channels",
    "delete_contact_phone",
    "delete_phone",
    "edit_contact",
    "edit_contact_phone",
    "edit_phone",
    "find_company",
    "find_or_create_company",
    "fold",
    "generated_code",
    "get_contact",
    "live_contact",
    "make_address",
    "make_campaign",
    "make_company",
    "make_custom_field",
    "make_document",
    "make_line",
    "name_key",
    "normalize_channel",
    "personal_data_view",
    "remove_address",
    "remove_contact_address",
    "resolve_contact_code",
    "search_contacts",
    "set_contact_primary_address",
    "set_primary_address",
    "update_contact",
]
