"""The change notifications a subscription delivers (``r.subscribe(key, callback)``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .keys import Key

__all__ = ["Changed", "Deleted", "Event", "Expired"]


@dataclasses.dataclass(frozen=True)
class Changed:
    """The value of ``key`` changed (a local update or a merge); ``value`` is the new value."""

    key: Key[Any]
    value: Any


@dataclasses.dataclass(frozen=True)
class Deleted:
    """``key`` was deleted (here or on another node)."""

    key: Key[Any]


@dataclasses.dataclass(frozen=True)
class Expired:
    """``key`` expired: no replica updated it for ``Config.expire_keys_after_inactivity``."""

    key: Key[Any]


Event = Changed | Deleted | Expired
