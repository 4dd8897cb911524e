"""Negotiation status per track: where the diplomacy stands, why, since when, and the analyst's word."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.negotiation.engine import (
        StatusEngine,
        analyse_new_items,
        compute_statuses,
        record_daily_history,
        status_changes,
        status_json,
    )
    from monitor.negotiation.model import (
        ARROWS,
        MOMENTA,
        SIGNALS,
        STATUSES,
        HistoryEntry,
        Movement,
        Override,
        OverrideChange,
        TrackStatus,
    )
    from monitor.negotiation.overrides import analyst_name, clear_override, set_override

_HOMES = {
    "engine": (
        "StatusEngine",
        "analyse_new_items",
        "compute_statuses",
        "record_daily_history",
        "status_changes",
        "status_json",
    ),
    "model": (
        "ARROWS",
        "MOMENTA",
        "SIGNALS",
        "STATUSES",
        "HistoryEntry",
        "Movement",
        "Override",
        "OverrideChange",
        "TrackStatus",
    ),
    "overrides": ("analyst_name", "clear_override", "set_override"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "ARROWS",
    "MOMENTA",
    "SIGNALS",
    "STATUSES",
    "HistoryEntry",
    "Movement",
    "Override",
    "OverrideChange",
    "StatusEngine",
    "TrackStatus",
    "analyse_new_items",
    "analyst_name",
    "clear_override",
    "compute_statuses",
    "record_daily_history",
    "set_override",
    "status_changes",
    "status_json",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the store imports `monitor.negotiation.model` for its row types, and that
    # must not pull in the engine (60 ms of imports) before a poll has sent its first request.
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
