"""Negotiation status storage: analyst overrides and the daily computed-status history."""

from __future__ import annotations

from monitor.store.base import StoreBase


class StatusMixin(StoreBase):
    """Queries over status_overrides and status_history (filled in by the negotiation engine's work)."""
