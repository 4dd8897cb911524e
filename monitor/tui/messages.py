"""Past-tense facts the poll worker posts to the main screen; the only way background work reaches the UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from monitor.models import FeedPollReport, PollReport


@dataclass
class PollStarted(Message):
    """A poll cycle began."""

    started: datetime


@dataclass
class FeedPolled(Message):
    """One feed of the running cycle was fetched and stored (or failed)."""

    report: FeedPollReport


@dataclass
class PollFinished(Message):
    """A poll cycle ended; `report` has every feed's outcome."""

    report: PollReport


@dataclass
class PollerStopped(Message):
    """The background poller died; the UI keeps showing the database and says why."""

    error: str
