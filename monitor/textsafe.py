"""Remove terminal control sequences and invisible characters from untrusted text before display."""

from __future__ import annotations

import re

# Whole escape sequences go first, so their parameters ("[31m", "]52;c;...") do not
# survive as visible junk once the introducer byte is gone.  Every repeated class stops
# at the next introducer, so a string full of unterminated sequences stays linear.
_SEQUENCES = re.compile(
    # CSI, 7-bit (ESC [) and 8-bit (U+009B): parameters, intermediates, one final byte.
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    # OSC (ESC ] / U+009D), DCS (P / U+0090), SOS (X / U+0098), PM (^ / U+009E), APC (_ / U+009F):
    # a payload ended by BEL or ST (ESC \ or U+009C).  OSC 52 (clipboard) and OSC 8
    # (hyperlinks) are OSC strings.  Unterminated ones fall through to the rules below.
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x90\x98\x9c-\x9f]*(?:\x07|\x1b\\|\x9c)"
    # Any other escape: ESC, intermediate bytes, one final byte (charset switches, RIS, ...).
    r"|\x1b[ -/]*[0-~]?"
)

# Characters deleted one by one.  \t and \n are the only C0 controls kept.  A regex deletes
# faster than str.translate, which does a dict lookup per character of long summaries.
_DELETED = re.compile(
    "["
    "\x00-\x08"  # NUL and other C0 controls before TAB
    "\x0b-\x1f"  # VT, FF, CR, ESC, ... (CR would let text overwrite its own line)
    "\x7f-\x9f"  # DEL and C1 controls, including 8-bit CSI/OSC introducers
    "\u061c"  # Arabic letter mark (bidi)
    "\u200b-\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO)
    "\u2060-\u206f"  # word joiner, invisible operators, isolates (LRI..PDI), deprecated format chars
    "\ufeff"  # zero-width no-break space / stray BOM
    "\U000e0000-\U000e007f"  # invisible tag characters, used to smuggle hidden text
    "]+"
)
# Unicode line/paragraph separators would break a row in some renderers: make them plain newlines.
_SEPARATORS = re.compile("[\u2028\u2029]")

# One search over the clean common case is much cheaper than rewriting every string.
_NEEDS_WORK = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\U000e0000-\U000e007f]"
)
_INTRODUCERS = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
# In ASCII text the only characters to remove are these (C0 controls but tab and newline, DEL).
_ASCII_CONTROLS = bytes(range(0x00, 0x09)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def strip_controls(s: str) -> str:
    """Return `s` without escape sequences, C0/C1 controls (except tab and newline), bidi and invisible marks."""
    if s.isascii():
        # Most text is ASCII and clean: deleting the controls from its bytes and finding none
        # removed costs a tenth of the regex search below.
        if len(s.encode("ascii").translate(None, _ASCII_CONTROLS)) == len(s):
            return s
    elif not _NEEDS_WORK.search(s):
        return s
    if _INTRODUCERS.search(s):
        s = _SEQUENCES.sub("", s)
    s = _DELETED.sub("", s)
    if "\u2028" in s or "\u2029" in s:
        s = _SEPARATORS.sub("\n", s)
    return s


def one_line(s: str) -> str:
    """Return `s` made safe (strip_controls) with every run of whitespace collapsed to one space."""
    return " ".join(strip_controls(s).split())
