"""The fork server parse workers are forked from, and what it preloads (multiprocessing only: the
parse pool's side and the TUI both start it)."""

from __future__ import annotations

import multiprocessing

WORKER_MODULES = ("monitor.parse", "monitor.clean", "monitor.tagging")
"""Imported by the workers (the fork server preloads them), not by the polling process: lxml and the
tagger cost a tenth of a second to import, and a poll where every feed answers 304 never parses anything."""

FORK_SERVER_PRELOAD = ("__main__", "concurrent.futures.process", "monitor.parse_worker", *WORKER_MODULES)
"""What the fork server imports once, so each worker forked from it starts ready to run."""


def set_fork_server_preload() -> None:
    """Have the fork server import FORK_SERVER_PRELOAD, so every worker forked from it starts ready to
    run instead of importing lxml and the tagger itself. It must be set before the server starts; it is
    a per-process setting, and the parse pool is the only user of the server."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORK_SERVER_PRELOAD))


def start_fork_server() -> None:
    """Start the fork server, and multiprocessing's resource tracker, now; both are per-process
    singletons that every later parse pool reuses. Returns at once.

    The TUI calls it before the app runs: Textual swaps sys.stderr for an object whose fileno() is -1,
    and the resource tracker passes sys.stderr.fileno() to the process it spawns, so a pool started
    later would fail with "bad value(s) in fds_to_keep". (Starting it first thing in a poll command, to
    overlap the server's imports with the command's, made no measurable difference: 1.009 x in 11
    alternating cold polls.)
    """
    from multiprocessing import forkserver, resource_tracker

    set_fork_server_preload()
    resource_tracker.ensure_running()
    forkserver.ensure_running()
