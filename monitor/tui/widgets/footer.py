"""Textual's Footer, recomposed only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Footer rebuilds every key widget whenever the screen's bindings are updated, which happens on
    every focus change; moving from one pane's list to another's changes no key it shows, and the
    rebuild (a few dozen widgets restyled) was most of a track switch's later frames."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: Hashable = None

    def _signature(self, screen: Screen[Any]) -> Hashable:
        """What `compose` reads: the shown bindings, their state and the command palette key."""
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action,
             binding.group, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
        )  # fmt: skip
        return (keys, self.show_command_palette, app.ENABLE_COMMAND_PALETTE, self.compact)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Footer recomposes only under these conditions; the signature is recorded only when it does.
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            signature = self._signature(screen)
            if self._bindings_ready and signature == self._shown:
                return
            self._shown = signature
        super().bindings_changed(screen)
