"""situation-monitor: a terminal monitor for conflicts and the negotiations around them."""

__version__ = "0.1.0"
