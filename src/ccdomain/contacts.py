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
from ccdomain.models import Line
from ccdomain.models import contacts as _records
from ccdomain.models.contacts import *  # noqa: F403
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
from ccdomain.services import campaigns as _campaigns
from ccdomain.services import contacts as _services
from ccdomain.services.campaigns import *  # noqa: F403
from ccdomain.services.companies import find_company, find_or_create_company
from ccdomain.services.contacts import *  # noqa: F403

# A module re-exported whole lists its names once, in its own __all__; the names
# picked from the others are listed here.
__all__ = [
    "CHANNEL_KIND_ORDER",
    "ContactDetail",
    "Document",
    "Line",
    "PersonalData",
    "add_address",
    "add_phone",
    "avatar",
    "build_contact",
    "channel_kind",
    "channels_by_kind",
    "check_template_precondition",
    "code_for",
    "contact_avatar",
    "contact_matches",
    "convert_custom_values",
    "dedupe_channels",
    "delete_phone",
    "edit_contact",
    "edit_phone",
    "find_company",
    "find_or_create_company",
    "fold",
    "generated_code",
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
    "set_primary_address",
]
__all__ += _records.__all__
__all__ += _campaigns.__all__
__all__ += _services.__all__
