"""URL helpers shared by fetching, logging and the UI: credential redaction, http(s) checks, host keys."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Userinfo inside any scheme://user:pass@host found in free text (exception messages, log lines).
# Greedy up to the last "@" before the path, as a password may itself contain an unescaped "@".
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s?#]*@")

# Host names never legitimately contain whitespace, controls or URL delimiters; urlsplit lets them through.
_BAD_HOST_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\/?#@]")


def redact(url: str) -> str:
    """Return `url` without any `user:password@`; safe to show in errors, logs and the UI."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if "@" not in parts.netloc:
        # Unparseable leftovers such as "http:/user:pw@host" still get the free-text treatment.
        return redact_text(url)
    netloc = parts.netloc.rpartition("@")[2]
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def redact_text(text: str) -> str:
    """Remove userinfo from every URL embedded in a free-form message."""
    return _USERINFO_IN_TEXT.sub(r"\g<scheme>", text)


def is_http_url(url: str) -> bool:
    """True for an absolute http or https URL with a usable host and a valid port."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for out-of-range or non-numeric ports
    except ValueError:
        return False
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return False
    host = parts.hostname
    if not host or _BAD_HOST_CHARS.search(host):
        return False
    return port is None or port > 0


def host_key(url: str) -> str:
    """`host:port` (lower-case, default port filled in) used to key per-host request limits."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if not host:
        return ""
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"
