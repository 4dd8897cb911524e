"""The digest as Markdown that reads well as plain text in a terminal: short lines, clear headings."""

from __future__ import annotations

import re
import textwrap

from monitor.digest.model import Digest, FeedProblem, Story, TrackSection, safe_link
from monitor.digest.words import (
    change_line,
    clock,
    counts_line,
    long_day,
    plural,
    problem_line,
    stamp,
    status_line,
)

WIDTH = 78
"""Lines are wrapped to this many columns (URLs are never broken)."""
OTHER_OUTLETS = 6
"""Other outlets named after a top story before '+N more'."""

# Characters that would turn feed text into links, code, HTML, lists or headings when the file is
# rendered. Underscores are left alone: inside words they never mark emphasis, and escaping them
# litters plain-text reading.
_MARKUP = re.compile(r"([\\`*\[\]<>#])")


def md_text(text: str) -> str:
    """Feed text (already one line, no control characters) with Markdown syntax escaped."""
    return _MARKUP.sub(r"\\\1", text)


def md_link(link: str) -> str:
    """An http(s) link (already vetted) with the characters Markdown could read as markup encoded."""
    return "".join(f"%{ord(c):02X}" if c in '<>"`\\' else c for c in link)


def _wrap(text: str, first: str = "", rest: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=first if rest is None else rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _story(number: int, story: Story, d: Digest) -> list[str]:
    lines = _wrap(md_text(story.title), f"{number}. ", "   ")
    first = story.first
    lines += _wrap(
        f"{plural(story.outlets, 'outlet')}. First: {clock(first.published, d.tz, d.day)} {md_text(first.source)}",
        "   ",
    )
    if first.link:
        lines.append(f"   {md_link(first.link)}")
    if story.others:
        named = [
            f"{clock(r.published, d.tz, d.day)} {md_text(r.source)}" for r in story.others[:OTHER_OUTLETS]
        ]
        extra = len(story.others) - OTHER_OUTLETS
        text = "Also: " + "; ".join(named) + (f" (+{extra} more)" if extra > 0 else "")
        lines += _wrap(text, "   ")
    return lines


def _section(section: TrackSection, d: Digest) -> list[str]:
    lines = [f"## {md_text(section.title)}", ""]
    n = section.negotiation
    if n is not None:
        lines += _wrap(f"Negotiations: {md_text(n.name)}")
        lines += _wrap(f"Status: {status_line(n, d.tz)}", "  ", "  ")
        if n.rationale:
            lines += _wrap(f"Why: {md_text(n.rationale)}", "  ", "  ")
        lines += _wrap(f"Since yesterday: {change_line(n)}", "  ", "  ")
        if n.override:
            lines += _wrap(f"Analyst: {md_text(n.override)}", "  ", "  ")
        lines.append("")
    lines += _wrap(counts_line(section.counts))
    if section.top:
        lines += ["", "### Top stories", ""]
        for number, story in enumerate(section.top, 1):
            lines += [*_story(number, story, d), ""]
        lines.pop()
    if section.also:
        lines += ["", "### Also reported", ""]
        for story in section.also:
            first = story.first
            text = f"{clock(first.published, d.tz, d.day)} {md_text(first.source)}: {md_text(story.title)}"
            lines += _wrap(text, "- ", "  ")
        if section.more:
            lines.append(f"- and {plural(section.more, 'more story', 'more stories')}")
    return lines


def _problem(p: FeedProblem, d: Digest) -> list[str]:
    text = problem_line(md_text(p.title), p.status, p.kind, md_text(p.error), p.last_success, d.tz, d.day)
    lines = _wrap(text, "- ", "  ")
    link = safe_link(p.url)
    lines.append(f"  {md_link(link) if link else md_text(p.url)}")
    return lines


def render_md(d: Digest) -> str:
    lines = [
        f"# Daily digest: {long_day(d.day)}",
        "",
        *_wrap(f"Times are in {d.timezone}. Generated {stamp(d.generated, d.tz)}."),
    ]
    for section in d.tracks:
        lines += ["", *_section(section, d)]
    u = d.untracked
    lines += ["", "## Other news", ""]
    if u.items:
        text = (
            f"{plural(u.items, 'item')} ({plural(d.untracked_stories, 'story', 'stories')}) from "
            f"{plural(u.sources, 'source')} matched no track (yesterday: {u.prev_items} from {u.prev_sources})."
        )
    else:
        text = f"No items outside the tracks (yesterday: {u.prev_items})."
    lines += _wrap(text)
    lines += ["", "## Feed health", ""]
    lines += _wrap(f"{d.feeds_healthy} of {plural(d.feeds_total, 'feed')} healthy at generation time.")
    if d.feeds_failing:
        lines.append("")
        for problem in d.feeds_failing:
            lines += _problem(problem, d)
    return "\n".join(lines) + "\n"
