"""A small modal for the analyst's status on one track: choose a status and a note, or clear it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from monitor.negotiation import STATUSES, Override
from monitor.tui.format import safe
from monitor.tui.widgets.status_panel import STATUS_COLOURS, badge


@dataclass(frozen=True, slots=True)
class OverrideChoice:
    """What the analyst chose: a status and note to set, or clear."""

    status: str = ""
    note: str = ""
    clear: bool = False


class StatusOverrideScreen(ModalScreen[OverrideChoice | None]):
    """Returns an OverrideChoice, or None when cancelled."""

    DEFAULT_CSS = """
    StatusOverrideScreen {
        align: center middle;
    }
    StatusOverrideScreen > #override-box {
        width: 60;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    StatusOverrideScreen #override-statuses {
        height: auto;
        max-height: 8;
        margin: 1 0 0 0;
    }
    StatusOverrideScreen #override-buttons {
        height: auto;
        margin: 1 0 0 0;
    }
    StatusOverrideScreen #override-buttons > Button {
        margin: 0 1 0 0;
        min-width: 10;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("ctrl+s", "set", "set", show=False),
    ]

    def __init__(
        self, *, track_title: str, name: str, computed: str | None, current: Override | None
    ) -> None:
        super().__init__()
        self.track_title = track_title
        self.negotiation = name
        self.computed = computed
        self.current = current

    def compose(self) -> ComposeResult:
        heading = Content.assemble(
            ("Analyst status: ", "bold"),
            (safe(self.track_title), "bold"),
            "\n",
            (safe(self.negotiation), "italic"),
            "\n",
            ("computed ", "dim"),
            badge(self.computed or "quiet") if self.computed else ("—", "dim"),
        )
        if self.current:
            heading = heading + Content.assemble(
                ("   analyst ", "dim"), badge(self.current.status), (f" {safe(self.current.set_by)}", "dim")
            )
        options = [Option(Content.assemble(("█ ", STATUS_COLOURS[s]), s), id=s) for s in STATUSES]
        with Vertical(id="override-box"):
            yield Static(heading, id="override-heading")
            yield OptionList(*options, id="override-statuses")
            yield Input(
                value=self.current.note if self.current else "",
                placeholder="note (why; optional) — enter sets",
                id="override-note",
            )
            with Horizontal(id="override-buttons"):
                yield Button("Set", id="override-set", variant="primary")
                yield Button("Clear", id="override-clear", disabled=self.current is None)
                yield Button("Cancel", id="override-cancel")

    def on_mount(self) -> None:
        statuses = self.query_one("#override-statuses", OptionList)
        preferred = self.current.status if self.current else (self.computed or "talks")
        statuses.highlighted = STATUSES.index(preferred) if preferred in STATUSES else 0
        statuses.focus()

    @property
    def chosen(self) -> str:
        statuses = self.query_one("#override-statuses", OptionList)
        index = statuses.highlighted
        return STATUSES[index] if index is not None else STATUSES[0]

    @on(OptionList.OptionSelected, "#override-statuses")
    def _status_chosen(self) -> None:
        self.query_one("#override-note", Input).focus()

    @on(Input.Submitted, "#override-note")
    def _note_submitted(self) -> None:
        self.action_set()

    @on(Button.Pressed, "#override-set")
    def action_set(self) -> None:
        self.dismiss(OverrideChoice(status=self.chosen, note=self.query_one("#override-note", Input).value))

    @on(Button.Pressed, "#override-clear")
    def _clear(self) -> None:
        self.dismiss(OverrideChoice(clear=True))

    @on(Button.Pressed, "#override-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
