"""The date a document states for itself ("Last updated: March 4, 2025").

`find_stated_date` looks for a date that follows a cue ("last updated",
"effective date", "updated", "last modified", "revised", "version of",
"dernière mise à jour", "última actualización", "更新日期" ...) within the
first `HEAD_CHARS` characters of the text, and returns the first one found.
Dates are read in these shapes: ISO ``2025-03-04``, ``March 4, 2025``,
``4 March 2025``, ``Mar. 4th, 2025``, ``04/03/2025`` only when unambiguous
is not attempted (numeric day/month orders are guessed: a first field over
12 is a day, otherwise month first as in US usage), ``2025年3月4日``, and
French/Spanish/German/Italian/Portuguese month names.
"""

from __future__ import annotations

import datetime as dt
import re

HEAD_CHARS = 3000

_MONTHS = {
    # English
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    # French
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
    # Spanish / Portuguese / Italian / German (the distinct spellings)
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
    "janeiro": 1,
    "fevereiro": 2,
    "março": 3,
    "maio": 5,
    "junho": 6,
    "julho": 7,
    "setembro": 9,
    "outubro": 10,
    "novembro": 11,
    "dezembro": 12,
    "gennaio": 1,
    "febbraio": 2,
    "aprile": 4,
    "maggio": 5,
    "giugno": 6,
    "luglio": 7,
    "settembre": 9,
    "ottobre": 10,
    "dicembre": 12,
    "januar": 1,
    "februar": 2,
    "märz": 3,
    "juni": 6,
    "juli": 7,
    "oktober": 10,
    "dezember": 12,
}
_MONTH = "(?P<{}>" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"

_CUE = re.compile(
    r"(?<!\w)(last\s+(updated|modified|revised|changed)|(date\s+)?(last\s+)?updated(\s+on)?|"
    r"effective(\s+(date|as\s+of|from|on))?|revised(\s+on)?|modified|version\s+(date|of)|"
    r"in\s+effect\s+(as\s+of|from)|valid\s+from|published(\s+on)?|dated?|"
    r"derni[eè]re\s+mise\s+[aà]\s+jour|mis\s+[aà]\s+jour(\s+le)?|en\s+vigueur(\s+le|\s+au)?|"
    r"[uú]ltima\s+(actualizaci[oó]n|modificaci[oó]n|atualiza[cç][aã]o)|actualizad[oa](\s+el)?|"
    r"ultimo\s+aggiornamento|aggiornat[oa](\s+il)?|stand|zuletzt\s+aktualisiert|"
    r"更新日期|生效日期|更新时间|最后更新|发布日期|更新日|施行日)",
    re.IGNORECASE,
)
_DAY = r"(?P<{}>\d{{1,2}})(st|nd|rd|th|er|º|°)?"
_YEAR = r"(?P<{}>(19|20)\d\d)"
_DATE_SHAPES = (
    # 2025-03-04, 2025/03/04, 2025.03.04
    re.compile(r"(?P<y>(19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"),
    # 2025年3月4日
    re.compile(r"(?P<y>(19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
    # March 4, 2025 / Mar. 4th 2025
    re.compile(
        _MONTH.format("mn") + r"\s+" + _DAY.format("d") + r",?\s+" + _YEAR.format("y"), re.I
    ),
    # 4 March 2025 / 4 de marzo de 2025 / 4. März 2025 / 1er janvier 2025
    re.compile(
        _DAY.format("d")
        + r"\.?\s+(de\s+)?"
        + _MONTH.format("mn")
        + r",?\s+(de\s+)?"
        + _YEAR.format("y"),
        re.I,
    ),
    # 03/04/2025 or 04.03.2025
    re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>(19|20)\d\d)\b"),
    # March 2025 (day unknown: the first of the month)
    re.compile(_MONTH.format("mn") + r",?\s+" + _YEAR.format("y"), re.I),
)
_WINDOW = 80  # characters after a cue where its date may start


def _build(match: re.Match[str]) -> dt.date | None:
    groups = match.groupdict()
    try:
        year = int(groups["y"])
        if groups.get("mn"):
            month = _MONTHS[groups["mn"].lower().rstrip(".")]
            day = int(groups["d"]) if groups.get("d") else 1
        elif groups.get("a"):
            a, b = int(groups["a"]), int(groups["b"])
            month, day = (b, a) if a > 12 or "." in match.group(0) else (a, b)
        else:
            month, day = int(groups["m"]), int(groups["d"])
        return dt.date(year, month, day)
    except (ValueError, KeyError):
        return None


def _first_date(window: str) -> dt.date | None:
    best: tuple[int, dt.date] | None = None
    for shape in _DATE_SHAPES:
        for match in shape.finditer(window):
            found = _build(match)
            if found is not None:
                if best is None or match.start() < best[0]:
                    best = (match.start(), found)
                break
    return best[1] if best else None


def find_stated_date(text: str) -> dt.date | None:
    """The first "last updated"/"effective" date stated near the top, or None."""
    head = text[:HEAD_CHARS]
    for cue in _CUE.finditer(head):
        window = head[cue.end() : cue.end() + _WINDOW]
        found = _first_date(window)
        if found is not None:
            return found
    return None
