"""Old names and old call shapes of the public API, kept working until 1.0.

The API convention is ``verb_noun(store, *, ...)``: keyword-only arguments after
the store, ``agent=`` for the person acting and ``at=`` for the time. Names and
call shapes from before the convention keep working through the two helpers
here; each use warns with a :class:`DeprecationWarning` that names the
replacement, and CHANGELOG.md lists every one.

- :func:`deprecated_alias` makes an old *name* call the new function (mapping old
  positional arguments and renamed keywords).
- :func:`accepts_old_call` keeps an unchanged name working for callers that still
  pass arguments positionally, or by an old keyword (``actor=``).

Both wrappers keep ``__wrapped__``, so :func:`inspect.signature` shows the new
signature (the convention test reads it).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["REMOVAL", "accepts_old_call", "deprecated_alias", "warn_deprecated"]

REMOVAL = "1.0"
"""The release that removes every deprecated name and call shape."""

_F = TypeVar("_F", bound=Callable[..., Any])


def warn_deprecated(what: str, instead: str, *, stacklevel: int = 3) -> None:
    """Warn that ``what`` is deprecated in favour of ``instead``."""
    warnings.warn(
        f"{what} is deprecated and will be removed in ccdomain {REMOVAL}; use {instead}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _adapt(
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    positional: Sequence[str],
    renamed: Mapping[str, str],
) -> tuple[tuple[Any, ...], dict[str, Any], list[str]]:
    """Move extra positional arguments to their keyword names, and rename old keywords."""
    changes: list[str] = []
    if len(args) > len(positional):
        raise TypeError(
            f"{name}() takes at most {len(positional)} positional arguments "
            f"({', '.join(positional)}), {len(args)} given"
        )
    moved = dict(zip(positional, args, strict=False))
    for key in moved:
        if key in kwargs:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
    if moved:
        changes.append("positional " + ", ".join(moved))
    for old, new in renamed.items():
        if old in kwargs:
            if new in kwargs or new in moved:
                raise TypeError(f"{name}() got both {old!r} and {new!r}")
            kwargs[new] = kwargs.pop(old)
            changes.append(f"{old}=")
    kwargs.update(moved)
    return (), kwargs, changes


def accepts_old_call(
    positional: Sequence[str] = (),
    *,
    leading: int = 1,
    renamed: Mapping[str, str] | None = None,
) -> Callable[[_F], _F]:
    """Keep a function's old call shape working, with a warning.

    Args:
        positional: the names, in order, of the arguments old callers passed
            positionally after the first ``leading`` ones (the store).
        leading: how many positional arguments the new signature still takes.
        renamed: old keyword -> new keyword (e.g. ``{"actor": "agent"}``).
    """
    renames = dict(renamed or {})

    def decorate(func: _F) -> _F:
        old_names = tuple(renames)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # The new call shape costs one length test (and a probe per renamed keyword).
            if len(args) <= leading and (
                not old_names or not any(old in kwargs for old in old_names)
            ):
                return func(*args, **kwargs)
            head, rest = args[:leading], args[leading:]
            _, kwargs, changes = _adapt(func.__name__, rest, kwargs, positional, renames)
            warn_deprecated(
                f"calling {func.__name__}() with {' and '.join(changes)}",
                "keyword arguments as documented",
            )
            return func(*head, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_alias(
    new: Callable[..., Any],
    old_name: str,
    *,
    positional: Sequence[str] = (),
    leading: int = 1,
    renamed: Mapping[str, str] | None = None,
    adapt: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """An old name for ``new``: same behaviour, a DeprecationWarning at each call.

    Args:
        new: the function that replaces the old name.
        old_name: the old name (for the warning and ``__name__``).
        positional: names, in order, of the arguments old callers passed
            positionally after the first ``leading`` ones.
        leading: how many positional arguments ``new`` still takes.
        renamed: old keyword -> new keyword.
        adapt: when the old function's result or arguments differ more than
            that, a function called instead of ``new`` with the adapted arguments.
    """
    renames = dict(renamed or {})
    target = adapt or new

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_deprecated(f"{old_name}()", f"{new.__module__}.{new.__name__}()")
        head, rest = args[:leading], args[leading:]
        _, kwargs, _changes = _adapt(old_name, rest, kwargs, positional, renames)
        return target(*head, **kwargs)

    alias.__name__ = old_name
    alias.__qualname__ = old_name
    alias.__doc__ = (
        f"Deprecated alias of :func:`{new.__module__}.{new.__name__}` (removed in {REMOVAL})."
    )
    alias.__deprecated__ = True  # type: ignore[attr-defined]
    return alias
