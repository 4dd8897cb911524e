"""The digest as one self-contained HTML file: inline CSS, no scripts, no external requests, prints well."""

from __future__ import annotations

import html

from monitor.digest.model import Digest, FeedProblem, Report, Story, TrackSection, safe_link
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
from monitor.textsafe import strip_controls

OTHER_OUTLETS = 12

_CSS = """
:root { --ink: #1d1f21; --muted: #5c6166; --rule: #d8dadc; --accent: #1f5f99; --bg: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem 3rem; color: var(--ink); background: var(--bg);
       font: 16px/1.45 Georgia, "Times New Roman", serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; padding-top: .75rem; border-top: 2px solid var(--ink); }
h3 { font: 600 .8rem/1.2 Helvetica, Arial, sans-serif; text-transform: uppercase; letter-spacing: .06em;
     color: var(--muted); margin: 1.25rem 0 .5rem; }
p { margin: .35rem 0; }
a { color: var(--accent); }
.meta, .counts, .note, footer { font: .85rem/1.4 Helvetica, Arial, sans-serif; color: var(--muted); }
.status { font: 600 .95rem/1.4 Helvetica, Arial, sans-serif; margin: .25rem 0; }
.status .name { font-weight: 400; color: var(--muted); }
ol.top { padding-left: 1.5rem; }
ol.top > li { margin: 0 0 .9rem; break-inside: avoid; page-break-inside: avoid; }
.headline { font-weight: 600; }
ul.also { padding-left: 1.1rem; margin: .25rem 0; }
ul.also li { margin: .2rem 0; break-inside: avoid; }
.url { word-break: break-all; }
.empty { color: var(--muted); font-style: italic; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .url { display: block; }
}
"""


def esc(text: str) -> str:
    """Feed text for HTML: control characters out, then every markup character escaped (quotes too)."""
    return html.escape(strip_controls(text), quote=True)


def _link(link: str | None, text: str) -> str:
    """An anchor only for an http(s) link; any other scheme is shown as plain text."""
    safe = safe_link(link)
    if safe is None:
        return text
    return f'<a href="{esc(safe)}" rel="noopener noreferrer">{text}</a>'


def _time(moment_html: str, iso: str) -> str:
    return f'<time datetime="{esc(iso)}">{moment_html}</time>'


def _when(report: Report, d: Digest) -> str:
    return _time(esc(clock(report.published, d.tz, d.day)), report.published.isoformat())


def _story(story: Story, d: Digest) -> str:
    first = story.first
    parts = [
        f'<li><p class="headline">{_link(first.link, esc(story.title))}</p>',
        f'<p class="meta">{esc(plural(story.outlets, "outlet"))}. First: {_when(first, d)} {esc(first.source)}'
        + (f' <span class="url">{esc(first.link)}</span>' if first.link else "")
        + "</p>",
    ]
    if story.others:
        named = [f"{_when(r, d)} {_link(r.link, esc(r.source))}" for r in story.others[:OTHER_OUTLETS]]
        extra = len(story.others) - OTHER_OUTLETS
        more = f" (+{extra} more)" if extra > 0 else ""
        parts.append(f'<p class="meta">Also: {"; ".join(named)}{more}</p>')
    parts.append("</li>")
    return "\n".join(parts)


def _section(section: TrackSection, d: Digest) -> str:
    out = [f'<section class="track" id="track-{esc(section.id)}">', f"<h2>{esc(section.title)}</h2>"]
    n = section.negotiation
    if n is not None:
        out.append(
            f'<p class="status"><span class="name">Negotiations: {esc(n.name)}.</span> '
            f"Status: {esc(status_line(n, d.tz))}</p>"
        )
        if n.rationale:
            out.append(f'<p class="note">Why: {esc(n.rationale)}</p>')
        out.append(f'<p class="note">Since yesterday: {esc(change_line(n))}</p>')
        if n.override:
            out.append(f'<p class="note">Analyst: {esc(n.override)}</p>')
    out.append(f'<p class="counts">{esc(counts_line(section.counts))}</p>')
    if section.top:
        out.append("<h3>Top stories</h3>")
        out.append('<ol class="top">')
        out.extend(_story(story, d) for story in section.top)
        out.append("</ol>")
    if section.also:
        out.append("<h3>Also reported</h3>")
        out.append('<ul class="also">')
        for story in section.also:
            first = story.first
            out.append(
                f"<li>{_when(first, d)} {esc(first.source)}: {_link(first.link, esc(story.title))}</li>"
            )
        if section.more:
            out.append(
                f'<li class="empty">and {esc(plural(section.more, "more story", "more stories"))}</li>'
            )
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _problem(p: FeedProblem, d: Digest) -> str:
    text = problem_line(p.title, p.status, p.kind, p.error, p.last_success, d.tz, d.day)
    return f'<li>{esc(text)} <span class="url">{esc(p.url)}</span></li>'


def render_html(d: Digest) -> str:
    title = f"Daily digest: {long_day(d.day)}"
    u = d.untracked
    if u.items:
        other = (
            f"{plural(u.items, 'item')} ({plural(d.untracked_stories, 'story', 'stories')}) from "
            f"{plural(u.sources, 'source')} matched no track (yesterday: {u.prev_items} from {u.prev_sources})."
        )
    else:
        other = f"No items outside the tracks (yesterday: {u.prev_items})."
    health = f"{d.feeds_healthy} of {plural(d.feeds_total, 'feed')} healthy at generation time."
    body = [
        "<header>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">Times are in {esc(d.timezone)}. Generated {esc(stamp(d.generated, d.tz))}.</p>',
        "</header>",
        "<main>",
        *(_section(s, d) for s in d.tracks),
        '<section class="other">',
        "<h2>Other news</h2>",
        f"<p>{esc(other)}</p>",
        "</section>",
        "</main>",
        "<footer>",
        "<h2>Feed health</h2>",
        f"<p>{esc(health)}</p>",
    ]
    if d.feeds_failing:
        body.append("<ul>")
        body.extend(_problem(p, d) for p in d.feeds_failing)
        body.append("</ul>")
    body.append("</footer>")
    # The CSP forbids scripts and every remote fetch even if something slipped through escaping.
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>"]) + "\n"
