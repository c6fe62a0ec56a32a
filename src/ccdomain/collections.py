"""Collections: money, products, payments, promises to pay (C1-C23).

The public face of the collections family: it re-exports, and holds no logic.

- Records (:mod:`ccdomain.models.collections`): C1 :class:`Money` and :func:`money`,
  :data:`MINOR_UNITS`; :class:`Product` (:class:`ProductInstallment`),
  :class:`Payment` (:class:`PaymentStatus`), :class:`Promise` (:class:`Installment`);
  C3 :class:`AgingBucket`, :func:`aging_buckets`, :data:`DEFAULT_BUCKETS`,
  :class:`CollectionsPolicy`. Decisions C7, C8, C11-C13.
- Pure rules, :mod:`ccdomain.rules.balances`: C2 :func:`outstanding_balance`,
  :func:`credit`; C3 :func:`days_past_due`, :func:`aging_bucket`, :func:`local_date`;
  :func:`policy_for`. Decisions C9, C10.
- Pure rules, :mod:`ccdomain.rules.promises`: C4 :func:`check_new_promise`,
  :func:`cancelled_promise`; C5, C6 :func:`promise_status`, :func:`promise_statuses`
  (:class:`PromiseStatus`, :class:`Allocation`, :class:`InstallmentCoverage`);
  :func:`product_summary`. Decisions C14-C21.
- Services, :mod:`ccdomain.services.collections`: :func:`declare_product`,
  :func:`record_payment`, :func:`reverse_payment`, :func:`register_promise`,
  :func:`cancel_promise`, :func:`contact_products`. Decisions C22, C23.

Deprecated (removed in 1.0): ``withdraw_promise(store, promise_id, ...)`` is
``cancel_promise(store, promise=...)``; ``cancel_promise(promise_record, agent, on)``
is :func:`cancelled_promise`; positional records and ``actor=`` in the services.
"""

from ccdomain._deprecation import deprecated_alias
from ccdomain.models import collections as _records
from ccdomain.models.collections import *  # noqa: F403
from ccdomain.rules import balances as _balances
from ccdomain.rules import promises as _promises
from ccdomain.rules.balances import *  # noqa: F403
from ccdomain.rules.promises import *  # noqa: F403
from ccdomain.services import collections as _services
from ccdomain.services.collections import *  # noqa: F403
from ccdomain.services.collections import cancel_promise

# A module re-exported whole lists its names once, in its own __all__.
__all__ = ["withdraw_promise"]
__all__ += _records.__all__
__all__ += _balances.__all__
__all__ += _promises.__all__
__all__ += _services.__all__

withdraw_promise = deprecated_alias(
    cancel_promise.__wrapped__,  # type: ignore[attr-defined]
    "withdraw_promise",
    positional=("promise",),
    renamed={"promise_id": "promise"},
)
