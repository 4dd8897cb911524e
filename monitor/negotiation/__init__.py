"""Negotiation status per track: where the diplomacy stands, why, since when, and the analyst's word."""

from __future__ import annotations

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
