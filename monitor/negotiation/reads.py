"""Reading items once: each tracked item's signals are stored at ingest (or on first need) and reused."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.models import Item
from monitor.negotiation.model import PendingRead, SignalRow
from monitor.negotiation.signals import SUMMARY_CHARS, Analysis, Reader

if TYPE_CHECKING:
    from monitor.store import Store

READER_VERSION = 1
"""Bump when reading changes (signals.py, text.py, the tagger): stored readings are then redone."""
BATCH = 500
"""Items read and saved per transaction: bounds memory and how long the write lock is held."""
HOOK_WAIT = 0.2
"""Seconds the ingest hook waits for another thread's reading before leaving its items queued."""

_READERS: OrderedDict[int, tuple[Config, Reader, str]] = OrderedDict()
_ANALYSES: OrderedDict[tuple[int, str, int], Analysis] = OrderedDict()
_CACHE_SIZE = 2_000
"""Analyses kept in memory for the evidence screen (everything else reads the stored rows)."""
_LOCK = threading.Lock()
# One reader per database in this process: the panel's worker, the poller's history and the ingest
# hook would otherwise read the same first-run backlog side by side.
_STORE_LOCKS: dict[str, threading.Lock] = {}


def _entry(config: Config) -> tuple[Config, Reader, str]:
    key = id(config)
    with _LOCK:
        hit = _READERS.get(key)
        if hit is not None and hit[0] is config:
            _READERS.move_to_end(key)
            return hit
    entry = (config, Reader(config), fingerprint(config))
    with _LOCK:
        _READERS[key] = entry  # holding the config keeps its id from being reused
        while len(_READERS) > 4:
            _READERS.popitem(last=False)
    return entry


def reader_for(config: Config) -> Reader:
    """The Reader for a configuration, built once."""
    return _entry(config)[1]


def stamp(config: Config) -> str:
    """The configuration's `fingerprint`, computed once."""
    return _entry(config)[2]


def fingerprint(config: Config) -> str:
    """What a reading depends on: the tracks' tagging words, the negotiation lexicon, cues and names,
    the weights applied while reading, and the reader's version. Not the scoring tuning (window,
    half-life...): changing that needs no re-reading."""
    tracks = [(t.id, t.terms, t.context, t.exclude, t.threshold) for t in config.tracks]
    negotiation = [
        (
            tid,
            neg.parties,
            neg.mediators,
            neg.venues,
            neg.signals,
            neg.cues,
            neg.tuning.carry_weight,
            neg.tuning.title_weight,
            neg.tuning.hedge_weight,
        )
        for tid, neg in config.negotiation.items()
        if tid in config.track_ids
    ]
    text = repr((READER_VERSION, SUMMARY_CHARS, tracks, negotiation))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def analysis_of(config: Config, item: Item) -> Analysis:
    """What the engine reads in one item (cached): the mentions per track, upcoming events, names."""
    reader = reader_for(config)
    key = (id(config), item.id, hash((item.title, item.summary, item.tracks)))
    with _LOCK:
        hit = _ANALYSES.get(key)
        if hit is not None:
            _ANALYSES.move_to_end(key)
            return hit
    analysis = reader.read(item)
    with _LOCK:
        _ANALYSES[key] = analysis
        while len(_ANALYSES) > _CACHE_SIZE:
            _ANALYSES.popitem(last=False)
    return analysis


def signal_rows(reader: Reader, rowid: int, item: Item) -> list[SignalRow]:
    """One row per track the item carries a signal for: weights, and what the status may show."""
    analysis = reader.read(item)
    published = int(item.published.timestamp())
    source = item.source or item.feed_url
    rows = []
    for track in reader.tracks:
        weights = analysis.contributions(track)
        if not weights:
            continue
        detail: dict[str, Any] = {"m": [[m.signal, m.text] for m in analysis.mentions if m.track == track]}
        for key, found in (("a", analysis.actors), ("v", analysis.venues), ("u", analysis.upcoming)):
            if found.get(track):
                detail[key] = found[track]
        rows.append(SignalRow(track, published, rowid, source, _compact(weights), _compact(detail)))
    return rows


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _store_lock(store: Store) -> threading.Lock:
    with _LOCK:
        return _STORE_LOCKS.setdefault(str(store.path), threading.Lock())


def _current(store: Store, stamp: str) -> None:
    """Start over when the stored readings were made under another configuration."""
    if store.negotiation_lexicon() != stamp:
        store.reset_negotiation_reads(stamp)


def _save(store: Store, reader: Reader, pending: Sequence[PendingRead]) -> int:
    rows: list[SignalRow] = []
    for read in pending:
        if read.item is not None:
            rows.extend(signal_rows(reader, read.rowid, read.item))
    return store.save_reads(pending, rows)


def ensure_read(store: Store, config: Config, since: int, until: int) -> int:
    """Read every tracked item published in [since, until) (epoch seconds) that is not read yet, in
    batches; returns how many were read. Cheap when there is nothing to read (one indexed query)."""
    _, reader, stamp = _entry(config)
    done = 0
    idle = 0
    lock = _store_lock(store)
    with lock:
        _current(store, stamp)
    # Items re-queued while being read (edited meanwhile) come back with the next batch; twice in a
    # row without progress means someone keeps re-queueing them: leave them for next time.
    while idle < 2:
        # The lock is held per batch, so the ingest hook and other readers take turns with a long
        # first-run backlog instead of waiting for all of it (and never read the same batch twice).
        with lock:
            pending = store.pending_reads(since, until, BATCH)
            if not pending:
                break
            saved = _save(store, reader, pending)
        done += saved
        idle = idle + 1 if saved == 0 else 0
    return done


def analyse_new_items(store: Store, config: Config, item_ids: list[str]) -> None:
    """Read newly stored items now (a `Poller.after_store` hook, run in a worker thread), so the
    status panel's next refresh and the history the poller records find nothing left to read.

    The poller waits for its hooks; when another thread is reading a long backlog, this gives up
    after HOOK_WAIT seconds rather than hold the poll up: the items stay queued, and whatever
    computes a status next reads them."""
    if not item_ids:
        return
    _, reader, stamp = _entry(config)
    lock = _store_lock(store)
    for start in range(0, len(item_ids), BATCH):
        if not lock.acquire(timeout=HOOK_WAIT):
            return
        try:
            _current(store, stamp)
            pending = store.pending_reads_of(item_ids[start : start + BATCH])
            if pending:
                _save(store, reader, pending)
        finally:
            lock.release()
