"""The fork server parse workers are forked from, and what it preloads; kept light (multiprocessing only)
so a command can start it before importing anything else."""

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

    The server is a fresh interpreter importing the parser (about 0.1 s). Started first thing in a poll
    command, that runs on an idle core while this process imports the rest, reads its config and opens
    the database, instead of delaying the first parse. The TUI must call it before the app runs: Textual
    swaps sys.stderr for an object whose fileno() is -1, and the resource tracker passes
    sys.stderr.fileno() to the process it spawns ("bad value(s) in fds_to_keep").
    """
    from multiprocessing import forkserver, resource_tracker

    set_fork_server_preload()
    resource_tracker.ensure_running()
    forkserver.ensure_running()
