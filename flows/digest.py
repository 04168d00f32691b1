"""`digest`: what changed in the tracked documents since the last digest, as Markdown.

The window runs from the end of the last completed digest (or `since`, or
seven days back when there was none) to now. A change belongs to the window
when it took effect in it: when the first capture of the new text was taken,
so the daily live capture reports a change the day it sees it, and history
that a backfill finds later is history, not news. Each changed document gets
its new versions with their clause changes, the changes that touch a
labelled provision first (high severity before medium and low), formatting-
only edits counted but not listed. The report is written to
`<data_dir>/digests/<end of window>.md` (or `out`) and its path returned.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from prefect import flow

from flows.common import open_run, utcnow
from flows.settings import Settings
from warehouse import queries

DEFAULT_WINDOW = timedelta(days=7)  # the first digest's window, without `since`
LISTED = 40  # clause changes listed per version; the rest are counted
_RANK = {"high": 0, "medium": 1, "low": 2, None: 3}


class DigestError(ValueError):
    """A window that cannot be read (a `since` that is not a time, or in the future)."""


def parse_since(text: str, until: datetime) -> datetime:
    """An ISO date or time (UTC when no offset is given) before `until`."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise DigestError(f"--since {text!r} is not a date or time (YYYY-MM-DD[THH:MM])") from err
    if when.tzinfo is None:
        when = when.replace(tzinfo=until.tzinfo)
    if when >= until:
        raise DigestError(
            f"--since {text!r} is not before the end of the window ({until:%Y-%m-%d %H:%M} UTC)"
        )
    return when


def render_digest(since: datetime, until: datetime, rows: Sequence[tuple]) -> str:
    """The Markdown report of `queries.digest_changes` rows."""
    versions: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        platform, document_id, name, version_id, changed_at = row[:5]
        versions[(changed_at, document_id, version_id, name, platform)].append(row)
    documents = {key[1] for key in versions}
    labelled_high = sum(1 for row in rows if row[11] == "high" and not row[9])
    out = [
        f"# clausetrail digest, {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    if not rows:
        out.append("No tracked document changed in this window.")
        return "\n".join(out) + "\n"
    out.append(
        f"{len(documents)} document(s) changed: {len(versions)} new version(s), "
        f"{len(rows)} clause change(s), {labelled_high} touching a high-severity provision."
    )
    for (changed_at, document_id, version_id, name, platform), changes in versions.items():
        kinds = Counter(row[5] for row in changes)
        formatting = sum(1 for row in changes if row[9])
        counted = ", ".join(
            f"{kinds[k]} {k}" for k in ("added", "removed", "modified", "moved") if kinds[k]
        )
        out += [
            "",
            f"## {name} ({document_id}, {platform}): "
            f"new version on {changed_at:%Y-%m-%d %H:%M} UTC",
            "",
            f"`{version_id}`: {counted}"
            + (f" ({formatting} only in formatting, not listed)" if formatting else ""),
            "",
        ]
        listed = sorted(
            (row for row in changes if not row[9]), key=lambda row: (_RANK[row[11]], row[6])
        )
        for row in listed[:LISTED]:
            kind, clause_id, heading, diff_text = row[5:9]
            categories, severity = row[10], row[11]
            where = f" · {heading}" if heading else ""
            label = f" · **{severity}**: {', '.join(categories)}" if categories else ""
            out.append(f"- **{kind}** {clause_id}{where}{label}")
            out.append(f"  {' '.join((diff_text or '').split())}")
        if len(listed) > LISTED:
            out.append(
                f"- and {len(listed) - LISTED} more in analyst.changes "
                f"(to_version_id = '{version_id}')"
            )
    return "\n".join(out) + "\n"


@flow(name="digest")
def digest(
    settings: Settings | None = None, since: str | None = None, out: str | None = None
) -> dict[str, object]:
    """Write the digest of the changes since the last one (or `since`)."""
    settings = settings or Settings.from_env()
    until = utcnow()
    start = parse_since(since, until) if since else None
    # the window's end is recorded with the run: the next digest starts there
    parameters = {"since": since, "until": until.isoformat(), "out": out}
    with open_run(settings, "digest", parameters) as run:
        if start is None:
            last = queries.last_digest_until(run.con)
            start = datetime.fromisoformat(last) if last else until - DEFAULT_WINDOW
        rows = queries.digest_changes(run.con, start, until)
        text = render_digest(start, until, rows)
        name = f"{until:%Y-%m-%dT%H%M%SZ}.md"
        path = Path(out) if out else settings.data_dir / "digests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a digest
        documents = len({row[1] for row in rows})
        run.count("changes", len(rows))
        run.count("documents_changed", documents)
        return {
            "path": str(path),
            "since": start.isoformat(),
            "until": until.isoformat(),
            "changes": len(rows),
            "documents": documents,
            "text": text,
        }
