"""The poller every front end runs: new items also join stories and get their negotiation reading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from monitor.clustering import cluster_hook
from monitor.config import Config
from monitor.models import FeedPollReport
from monitor.negotiation import analyse_new_items
from monitor.poller import Poller, utc_now
from monitor.store import Store


def make_poller(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], datetime] = utc_now,
    on_feed: Callable[[FeedPollReport], None] | None = None,
    **kwargs: Any,
) -> Poller:
    """A Poller with the ingest hooks, so `sitmon poll`, the TUI and the demo store the same things."""
    poller = Poller(config, store, clock=clock, on_feed=on_feed, **kwargs)
    poller.after_store.append(cluster_hook(store, config, clock))
    poller.after_store.append(partial(analyse_new_items, store, config))
    return poller
