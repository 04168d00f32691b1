"""The digest: the window, the report, the run it records, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.cli import main
from flows.digest import DigestError, parse_since, render_digest

pytestmark = pytest.mark.e2e

UNTIL = datetime(2026, 1, 1, tzinfo=UTC)


def test_since_is_read_as_utc_and_must_come_before_the_end():
    assert parse_since("2025-06-01", UNTIL) == datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_since("2025-06-01T12:30", UNTIL).hour == 12
    with pytest.raises(DigestError, match="not a date or time"):
        parse_since("last tuesday", UNTIL)
    with pytest.raises(DigestError, match="not before the end"):
        parse_since("2026-02-01", UNTIL)


def test_an_empty_window_says_so():
    text = render_digest(datetime(2025, 12, 1, tzinfo=UTC), UNTIL, [])
    assert text.startswith("# clausetrail digest, 2025-12-01 00:00 to 2026-01-01 00:00 UTC")
    assert "No tracked document changed" in text


def test_the_digest_lists_labelled_changes_first_and_the_next_one_starts_where_it_ended(
    demo_run, tmp_path, capsys
):
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_run["settings"].data_dir, copy)
    out = tmp_path / "first.md"
    assert (
        main(["--data-dir", str(copy), "digest", "--since", "2024-07-01", "--out", str(out)]) == 0
    )
    text = out.read_text()
    assert f"digest: {out}" in capsys.readouterr().out
    assert text.startswith("# clausetrail digest, 2024-07-01 00:00 to ")
    # the privacy policy's July 2024 version: the 5-year retention and the
    # feedback licence, labelled, before the edit of the "last updated" line
    section = text[
        text.index("## Lumen Privacy Policy (D-00001, lumen): new version on 2024-07-12") :
    ]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    lines = [line for line in section.splitlines() if line.startswith("- **")]
    assert "data_retention" in lines[0] and "**high**" in lines[0]
    assert any("feedback_license" in line for line in lines)
    assert "Last updated" in section.split("\n- **")[-1]  # the unlabelled edit comes last
    assert "kept for up to 5 years" in section
    # nothing from before the window
    assert "2024-02-05" not in text
    # the next digest starts at the end of this one: nothing new since
    assert main(["--data-dir", str(copy), "digest", "--out", str(tmp_path / "second.md")]) == 0
    second = (tmp_path / "second.md").read_text()
    assert "No tracked document changed in this window." in second
    first_end = text.splitlines()[0].split(" to ")[1]
    assert second.splitlines()[0].split(", ")[1].startswith(first_end.removesuffix(" UTC"))


def test_a_bad_since_is_an_error_and_records_nothing(demo_run, capsys):
    from warehouse.db import open_warehouse

    def runs() -> list[tuple]:
        con = open_warehouse(demo_run["settings"].database, read_only=True)
        try:
            return con.execute("SELECT run_id, flow, status FROM runs ORDER BY ALL").fetchall()
        finally:
            con.close()

    before = runs()
    data_dir = str(demo_run["settings"].data_dir)
    assert main(["--data-dir", data_dir, "digest", "--since", "yesterday-ish"]) == 2
    assert "is not a date or time" in capsys.readouterr().err
    assert main(["--data-dir", data_dir, "digest", "--since", "2999-01-01"]) == 2
    assert "is not before the end of the window" in capsys.readouterr().err
    assert runs() == before
