"""find_stated_date: the document's own date."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.dates import find_stated_date

D = dt.date(2025, 3, 4)


@pytest.mark.parametrize(
    "text",
    [
        "# Privacy Policy\n\nLast updated: March 4, 2025\n\nWe collect data.",
        "Effective date: 2025-03-04\n\nThese terms apply.",
        "Terms\n\nUpdated 4 March 2025",
        "**Effective: Mar. 4th, 2025**",
        "Last modified on 03/04/2025",
        "Dernière mise à jour : 4 mars 2025",
        "Última actualización: 4 de marzo de 2025",
        "更新日期：2025年3月4日",
        "UpdatedMarch 4, 2025",
    ],
)
def test_formats(text):
    assert find_stated_date(text) == D


def test_first_statement_wins():
    text = "Last updated: March 4, 2025\n\nPrevious version effective January 1, 2024."
    assert find_stated_date(text) == D


def test_day_first_numeric():
    assert find_stated_date("Last updated 25/12/2024") == dt.date(2024, 12, 25)


def test_month_and_year_only():
    assert find_stated_date("Effective as of January 2024") == dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# Terms\n\nWe were founded in 2015 and serve 4 million users.",
        "Our office is at 2025 Main Street.",
        "Updated regularly; check back often.",
    ],
)
def test_none_when_no_date_is_stated(text):
    assert find_stated_date(text) is None


def test_a_date_far_below_the_top_is_ignored():
    assert find_stated_date("x " * 3000 + "Last updated: March 4, 2025") is None
