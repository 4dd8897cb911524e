"""Every key, read from the same table as the bindings and the command palette."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.style import Style
from textual.widgets import Static

from monitor.tui.keys import MAIN_KEYS, display

NAVIGATION = (
    ("↑ ↓  j k", "Move in the pane"),
    ("PgUp PgDn", "Page (older rows load as you reach the bottom)"),
    ("Home End  g G", "Newest / oldest loaded row"),
    ("Tab", "Next visible pane"),
    ("ctrl+p", "Command palette: every command by name"),
)


def help_content() -> Content:
    key_style = Style(bold=True)
    parts: list[str | tuple[str, str | Style]] = [("Keys", Style(bold=True, underline=True)), "\n\n"]
    rows = [(display(k), k.help) for k in MAIN_KEYS] + list(NAVIGATION)
    width = max(len(key) for key, _ in rows) + 3
    for key, text in rows:
        parts += [(key.ljust(width), key_style), text, "\n"]
    parts += [
        "\n",
        ("Rows: ", Style(dim=True)),
        "+ new since you last looked at the pane · • unread · ★ starred · ×N outlets carry the story\n",
        ("Item detail: ", Style(dim=True)),
        "o browser · y copy link · s star · m read · esc back\n",
        ("esc or ? closes this help", Style(dim=True)),
    ]
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    """A dialog over the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_content())

    def action_close(self) -> None:
        self.dismiss(None)
