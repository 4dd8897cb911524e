"""Command line: `sitmon` opens the TUI; sub-commands poll, query and export. Textual is imported lazily."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from monitor import __version__
from monitor.config import Config, ConfigError, load_config
from monitor.locations import db_path

COMMAND_MODULES = (
    "monitor.commands.poll",
    "monitor.commands.items",
    "monitor.commands.feeds",
    "monitor.commands.status",
    "monitor.commands.digest",
    "monitor.commands.demo",
)
"""Each module defines `add_parser(subparsers)`, which registers its sub-command and sets `func`."""


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 1 (2 for usage/config problems)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Context:
    """What a command needs, loaded on first use so `--help` never touches config or the database."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @cached_property
    def config(self) -> Config:
        return load_config(self.args.config)

    @cached_property
    def db_path(self) -> Path:
        return db_path(self.args.db)

    @cached_property
    def store(self):  # type: ignore[no-untyped-def]
        from monitor.store import Store

        return Store(self.db_path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitmon",
        description="Situation monitor: news feeds tagged by conflict track, with negotiation status.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="user config file (default: $SITMON_CONFIG or platform dir)"
    )
    parser.add_argument(
        "--db", metavar="FILE", help="database file (default: $SITMON_DB or platform data dir)"
    )
    parser.add_argument(
        "--no-poll", action="store_true", help="open the TUI as a viewer only (a `sitmon poll` daemon writes)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    parser.set_defaults(func=_open_tui)
    return parser


def _open_tui(ctx: Context) -> int:
    from monitor.commands.tui import open_tui

    return open_tui(ctx)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context(args)
    from monitor.store import StoreError

    try:
        return int(args.func(ctx) or 0)
    except ConfigError as exc:
        print(f"sitmon: config error: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"sitmon: {exc}", file=sys.stderr)
        return exc.code
    except StoreError as exc:
        print(f"sitmon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `sitmon items | head`: the reader went away; exit quietly like other Unix tools.
        sys.stderr.close()
        return 0
