"""Customer information and identities (rules I1-I12).

The public face of the identities family: it re-exports, and holds no logic.

- Pure parts, :mod:`ccdomain.rules.identities`: the records of the views and the
  export (:class:`ActivityItem`, :class:`SummaryPage`, :class:`CaseView`,
  :class:`MessageThread`, :class:`Profile`, :class:`ContactExport`,
  :class:`CaseRecord`, :class:`ProductRecord`), :func:`identity_address` (I7),
  :data:`ANONYMIZED_TEXT`, :data:`EXPORT_FORMAT`; the activity order (I1), the
  profile fields (I10) and the scrub of an anonymization (I4, I11).
- Views and edits, :mod:`ccdomain.services.identities`: I1 :func:`contact_summary`;
  I9 :func:`cases_tab`, :func:`messages_tab`; I10 :func:`profile_tab`,
  :func:`update_profile`; M3 :func:`identities_tab` (:class:`IdentitiesView`),
  :func:`search_identities`; M5 :func:`merge_identities`. Decision I8.
- I2, I6 :mod:`ccdomain.services.comments`: :func:`add_comment`,
  :func:`edit_comment` and :func:`delete_comment` (which only refuse).
- I3, I7 :mod:`ccdomain.services.blocks`: :func:`block_identity`,
  :func:`unblock_identity`.
- I5, I8, I12 :mod:`ccdomain.services.export`: :func:`export_contact`,
  :func:`export_json`.
- I4, I11 :mod:`ccdomain.services.anonymize`: :func:`anonymize_contact`.

Every service takes the store first and keywords after it; the readers take a
store or a unit of work. Deprecated (removed in 1.0): the readers' positional
``(source, campaign, code)`` and ``update_profile``'s ``actor=``.
"""

from ccdomain.rules.identities import (
    ANONYMIZED_TEXT,
    EXPORT_FORMAT,
    ActivityItem,
    ActivityKind,
    CaseRecord,
    CaseView,
    ContactExport,
    MessageThread,
    ProductRecord,
    Profile,
    SummaryPage,
    identity_address,
)
from ccdomain.services.anonymize import anonymize_contact
from ccdomain.services.blocks import block_identity, unblock_identity
from ccdomain.services.comments import add_comment, delete_comment, edit_comment
from ccdomain.services.export import export_contact, export_json
from ccdomain.services.identities import (
    IdentitiesView,
    cases_tab,
    contact_summary,
    identities_tab,
    merge_identities,
    messages_tab,
    profile_tab,
    search_identities,
    update_profile,
)

__all__ = [
    "ANONYMIZED_TEXT",
    "EXPORT_FORMAT",
    "ActivityItem",
    "ActivityKind",
    "CaseRecord",
    "CaseView",
    "ContactExport",
    "IdentitiesView",
    "MessageThread",
    "ProductRecord",
    "Profile",
    "SummaryPage",
    "add_comment",
    "anonymize_contact",
    "block_identity",
    "cases_tab",
    "contact_summary",
    "delete_comment",
    "edit_comment",
    "export_contact",
    "export_json",
    "identities_tab",
    "identity_address",
    "merge_identities",
    "messages_tab",
    "profile_tab",
    "search_identities",
    "unblock_identity",
    "update_profile",
]
