"""Every key of the main screen in one table: bindings, the footer, the help screen and the palette read it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    """One user command."""

    keys: str
    """Textual key names, comma separated."""
    action: str
    """Action on the main screen (`app.` prefix for app actions)."""
    title: str
    """Short name (footer, palette)."""
    help: str
    """One sentence for the help screen and the palette."""
    display: str = ""
    """How the key is written for people; the first key name when empty."""
    footer: bool = False
    """Shown in the footer (the rest are in help and the palette)."""
    palette: bool = True
    name: str = ""
    """Command-palette title; the short title capitalised when empty."""

    @property
    def command(self) -> str:
        return self.name or self.title.capitalize()


MAIN_KEYS: tuple[Key, ...] = (
    Key("1", "focus_track(0)", "tracks", "Focus and expand a track's pane (1 = first track, ... 9)",
        display="1-9", footer=True, palette=False),
    Key("0", "show_all_panes", "all panes", "Back to every track pane", name="Show all panes"),
    Key("a", "all_view", "All", "The All view: every item; press again for items matching no track",
        name="All view"),
    Key("slash", "search", "search", "Full-text search that filters every pane as you type",
        display="/", footer=True, name="Search"),
    Key("escape", "clear_search", "clear", "Clear the search", display="esc", name="Clear search"),
    Key("enter", "open_item", "open", "Item detail: summary, link, matched terms, other outlets",
        footer=True, name="Open item"),
    Key("o", "open_link", "browser", "Open the item's link in the web browser (http/https only)",
        name="Open link in browser"),
    Key("y", "copy_link", "copy link", "Copy the item's link to the clipboard", name="Copy link"),
    Key("m", "toggle_read", "read", "Toggle read (marking read also marks the story's other reports)",
        footer=True, name="Toggle read"),
    Key("M", "mark_pane_read", "pane read", "Mark everything in this pane read", name="Mark pane read"),
    Key("s", "toggle_star", "star", "Star or unstar the item", name="Star item"),
    Key("u", "unread_only", "unread", "Show unread items only (toggle)", name="Unread only"),
    Key("r", "poll_now", "poll", "Poll every feed now", name="Poll now"),
    Key("f", "feed_health", "feeds", "Feed health: status, last and next poll, errors, items",
        footer=True, name="Feed health"),
    Key("d", "digest", "digest", "Export today's digest and say where it went", name="Export digest"),
    Key("p", "toggle_panel", "status panel", "Show or hide the negotiation-status panel (tab focuses it)",
        name="Negotiation status panel"),
    Key("question_mark", "app.help", "help", "All keys", display="?", footer=True, name="Help"),
    Key("q", "app.quit", "quit", "Quit", footer=True),
)  # fmt: skip
"""The order here is the order of the help screen."""


def main_bindings() -> list[Binding]:
    """Bindings for the main screen; a digit beyond the configured tracks answers with a message."""
    bindings: list[Binding] = []
    for key in MAIN_KEYS:
        if key.action.startswith("app."):
            continue  # bound on the App so they work on every screen
        if key.keys == "1":
            bindings.extend(
                Binding(
                    str(n),
                    f"focus_track({n - 1})",
                    key.title,
                    show=key.footer and n == 1,
                    key_display=key.display,
                )
                for n in range(1, 10)
            )
            continue
        bindings.append(
            Binding(key.keys, key.action, key.title, show=key.footer, key_display=key.display or None)
        )
    return bindings


def display(key: Key) -> str:
    return key.display or key.keys
