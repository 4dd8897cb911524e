"""The analyst's word on a track: who is speaking, and setting or clearing their status."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.negotiation.model import STATUSES

if TYPE_CHECKING:
    from monitor.store import Store


def analyst_name() -> str:
    """Who is setting a status: $SITMON_ANALYST, else the login name."""
    name = os.environ.get("SITMON_ANALYST", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "analyst"


def set_override(
    store: Store, track: str, status: str, note: str, now: datetime, who: str | None = None
) -> None:
    """Record the analyst's status for a track (every change is kept in the log)."""
    status = status.lower().strip()
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    store.set_status_override(track, status, " ".join(note.split()), who or analyst_name(), now)


def clear_override(store: Store, track: str, now: datetime, who: str | None = None) -> bool:
    """Return a track to its computed status; False when no analyst status was set."""
    return store.clear_status_override(track, who or analyst_name(), now)
