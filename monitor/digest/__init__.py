"""The daily digest: one day per track in Markdown, HTML or JSON, on stdout, to a file, or from the TUI."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.digest.model import Digest, build_digest, engine_negotiation
from monitor.digest.render_html import render_html
from monitor.digest.render_json import render_json
from monitor.digest.render_md import render_md

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

FORMATS = ("md", "html", "json")
RENDERERS = {"md": render_md, "html": render_html, "json": render_json}


def render(digest: Digest, fmt: str) -> str:
    """The digest as text in one of FORMATS."""
    try:
        return RENDERERS[fmt](digest)
    except KeyError:
        raise ValueError(f"unknown digest format {fmt!r} (expected one of {', '.join(FORMATS)})") from None


def cluster_pending(store: Store, config: Config, now: datetime) -> int:
    """Give a story to items stored without the clustering hook (an older poller, an import)."""
    from monitor.clustering import Clusterer

    return Clusterer.from_config(store, config, clock=lambda: now).assign_pending()


def digest_text(store: Store, config: Config, now: datetime, *, fmt: str, day: date | None = None) -> str:
    """Cluster what is pending, then build and render one day's digest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r} (expected one of {', '.join(FORMATS)})")
    from monitor.store import StoreError

    # A read-only or busy database still gets its digest; unclustered items then stand alone.
    with contextlib.suppress(StoreError):
        cluster_pending(store, config, now)
    return render(build_digest(store, config, now, day=day), fmt)


def default_folder(config: Config) -> Path:
    from monitor import locations

    configured = config.settings.digest_dir
    return Path(configured).expanduser() if configured else locations.default_digest_dir()


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a reader never sees half a digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_daily_digest(store: Store, config: Config, now: datetime, *, fmt: str | None = None,
                       folder: Path | None = None) -> Path:  # fmt: skip
    """Write today's digest (the day `now` falls on in the configured zone) for the TUI's `d` key.

    Format and folder default to settings.digest_format and settings.digest_dir (else the platform
    data dir's `digests`). The file is `digest-YYYY-MM-DD.<fmt>`, replaced atomically; returns its path.
    """
    fmt = fmt or config.settings.digest_format
    text = digest_text(store, config, now, fmt=fmt)
    day = now.astimezone(config.settings.tz).date()
    path = (folder or default_folder(config)) / f"digest-{day.isoformat()}.{fmt}"
    write_atomic(path, text)
    return path


__all__ = [
    "FORMATS",
    "Digest",
    "build_digest",
    "cluster_pending",
    "digest_text",
    "engine_negotiation",
    "render",
    "render_html",
    "render_json",
    "render_md",
    "write_daily_digest",
]
