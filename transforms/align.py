"""Alignment: match the clauses of a new version to those of the previous one.

Every old clause and every new clause appears in exactly one `Match`. The
passes, each on what the previous ones left unmatched:

1. **Exact text, in order.** The longest in-order runs of identical texts
   (difflib's matching blocks over the texts' hashes), so that duplicates
   pair with their in-order twin.
2. **Exact body, in order**, then **exact body, any order.** The body is the
   text without its leading label, so "4.2 Fees ..." -> "5.2 Fees ..." pairs
   here. Any identical texts still left (moves) pair in order too.
3. **Similarity.** rapidfuzz `fuzz.ratio` on bodies (`process.extract`, only
   over the remainder, and for each old body only over the new bodies whose
   length, and then an exact upper bound on the ratio, taken in two steps
   that together cost far less than the scorer, let it reach the threshold;
   each distinct text scored once).
   Pairs at or above `threshold` are taken greedily, best first.
   Context breaks ties and ranks near-equal candidates: a small bonus when
   the new clause sits between the new partners of the old clause's matched
   neighbours (the "gap"), and another when the heading path is the same.
   The threshold applies to the raw ratio.
4. **Split and merge.** An added clause next to the new partner of an edited
   old clause is a split part when joining it to the partner (in document
   order) is clearly closer to the old text than the partner alone; it stays
   `added`, with `lineage` = that old index. Symmetrically, a removed clause
   next to the old partner of an edited new clause is a merged part:
   `removed`, `lineage` = that new index. The more similar part keeps the
   match (pass 3 chose it).

Kinds of matched pairs:

- **moved** when the clause's heading path changed (beyond a renamed
  heading) or its position is out of order relative to the other matched
  clauses. A heading counts as renamed when the old path no longer exists in
  the new version, the new path did not exist in the old one and the old
  path's clauses went there (majority). Order is the longest increasing
  subsequence of the new positions of the pairs that did not move heading;
  the pairs outside it moved. `moved` wins over `modified`: a moved clause
  that was also edited has a similarity below 1.
- **unchanged** when the texts are identical, otherwise **modified**.
  Similarity is measured on bodies, so a renumbered clause whose body is the
  same ("4.2" -> "5.2") is `modified` with similarity 1.0 and method "hash";
  an analyst finds renumberings as ``kind = 'modified' AND similarity = 1``.

Unmatched clauses are `added` / `removed` with similarity 0 and method
"none". Matches come back in document order of the new version, each
removed clause just after the new partner of the old clause before it.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from transforms.clauses import Clause, normalise_space, strip_label

DEFAULT_THRESHOLD = 0.6
GAP_BONUS = 0.05  # the new clause lies where the old one's neighbours went
HEADING_BONUS = 0.02  # same heading path
SPLIT_MARGIN = 0.05  # joining a part must improve the similarity by this much


@dataclass(frozen=True, slots=True)
class Match:
    """One old clause, one new clause, or a pair, and what happened to it."""

    old: int | None  # index into the old clauses
    new: int | None  # index into the new clauses
    kind: str  # "unchanged" | "modified" | "moved" | "added" | "removed"
    similarity: float  # 0..1 on label-stripped bodies (1.0 for an exact body)
    method: str  # "hash" | "similarity" | "none"
    lineage: int | None = None  # split: the old index an added part came from;
    # merge: the new index a removed part went into


@lru_cache(maxsize=1 << 14)
def _text_body(text: str) -> str:
    """The text without its label; a clause that is only a label keeps it."""
    # a version's bodies are needed twice in a trace (as new, then as old)
    return normalise_space(strip_label(text)) or text


def _ratio(a: str, b: str) -> float:
    return fuzz.ratio(a, b) / 100.0


def _length_window(length: int, threshold: float) -> tuple[float, float]:
    """The lengths a string may have for its `fuzz.ratio` with a string of
    `length` characters to reach `threshold` (0..1).

    The Indel distance is at least the difference of the lengths, so
    ratio <= 2 * min(la, lb) / (la + lb); the window is widened by one
    character on each side so that rounding never drops a pair at the
    threshold.
    """
    low = length * threshold / (2.0 - threshold)
    high = length * (2.0 - threshold) / threshold
    return low - 1.0, high + 1.0


# how many of the most frequent characters the cheap bound leaves out
# (`_similar_pairs`), and how many choices (in order of length) share one
# pass of it; measured on the corpus
SKIPPED_CHARS = 4
BAND = 32


def _skip_chars(texts: Sequence[str], n: int) -> str:
    """The `n` most frequent characters of a sample of `texts` (about twenty
    of them, evenly spaced; ties go to the smaller character, so the result
    depends only on the texts)."""
    sample = "".join(texts[:: max(1, len(texts) // 20)])[:4_000]
    ranked = sorted(Counter(sample).items(), key=lambda item: (-item[1], item[0]))
    return "".join(char for char, _ in ranked[:n])


def _without(text: str, skip: str) -> str:
    """`text` without the characters of `skip`."""
    if text.isascii():  # bytes.translate is several times faster than str's
        ascii_skip = skip.encode("ascii", "ignore")
        return text.encode("ascii").translate(None, ascii_skip).decode("ascii")
    for char in skip:
        text = text.replace(char, "")
    return text


def _only(text: str, keep: str, others: bytes) -> str:
    """`text` with only the characters of `keep`, in order; `others` are the
    bytes that are not characters of `keep` (`_other_bytes`)."""
    if keep.isascii():
        # in UTF-8 an ASCII character is its byte and every other character
        # is made of bytes above 127 (a lone surrogate too, passed), so
        # deleting the other bytes leaves the characters of `keep`
        return text.encode("utf-8", "surrogatepass").translate(None, others).decode("ascii")
    return "".join(filter(keep.__contains__, text))


def _other_bytes(keep: str) -> bytes:
    """Every byte value but the ASCII characters of `keep`."""
    return bytes(b for b in range(256) if b > 127 or chr(b) not in keep)


def _similar_pairs(
    queries: Sequence[str], choices: Sequence[str], threshold: float
) -> list[tuple[int, int, float]]:
    """Every (query index, choice index, ratio) whose `fuzz.ratio` / 100 is at
    or above `threshold`, in no particular order.

    Each distinct query text is scored once against each distinct choice text
    in its length window (`_length_window`) whose upper bound on the ratio
    reaches the threshold. `fuzz.ratio` is 2 * LCS / (la + lb), and a common
    subsequence is made of the `SKIPPED_CHARS` most frequent characters (a
    common subsequence of the two texts reduced to those characters) and
    others (one of the texts without them), so the longest (LCS) is at most
    the LCS of the texts without the skipped characters plus the LCS of the
    texts reduced to them. The first, on texts about half as long, is taken
    for every pair of the window, with the fewer skipped characters either
    text has standing in for the second; only the pairs that this cheaper
    bound lets through pay for the second, which on the corpus leaves about
    one pair in fifteen of those for the scorer, nearly all of which reach
    the threshold.
    """
    query_at: dict[str, list[int]] = defaultdict(list)
    for q, query in enumerate(queries):
        query_at[query].append(q)
    choice_at: dict[str, list[int]] = defaultdict(list)
    for c, choice in enumerate(choices):
        choice_at[choice].append(c)
    by_length = sorted(choice_at, key=len)
    lengths = [len(choice) for choice in by_length]
    skip = _skip_chars(by_length, SKIPPED_CHARS)
    rests = [_without(choice, skip) for choice in by_length]
    others = _other_bytes(skip)
    kept = [_only(choice, skip, others) for choice in by_length]  # the skipped characters
    skipped = [length - len(rest) for length, rest in zip(lengths, rests, strict=True)]
    # for each band of BAND choices, the least of threshold * length / 2 -
    # skipped characters over its choices (see `least` below)
    per_choice = [threshold * n / 2.0 - k for n, k in zip(lengths, skipped, strict=True)]
    band_least = [min(per_choice[b : b + BAND]) for b in range(0, len(lengths), BAND)]
    found: list[tuple[int, int, float]] = []
    # process.extract per query: cdist would need numpy, which the project
    # does not depend on; the C scorer does the work either way
    for query, at in query_at.items():
        length = len(query)
        low, high = _length_window(length, threshold)
        start, stop = bisect.bisect_left(lengths, low), bisect.bisect_right(lengths, high)
        if start >= stop:
            continue
        rest = _without(query, skip)
        query_skipped = length - len(rest)
        passed = []  # (choice, LCS without the skipped characters)
        for band in range(start // BAND, (stop - 1) // BAND + 1):
            first, last = max(band * BAND, start), min((band + 1) * BAND, stop)
            # a pair of the band whose bound reaches the threshold has, without
            # the skipped characters, an LCS of at least t * la / 2 +
            # (t * lb / 2 - min(skipped a, skipped b)); the part in brackets
            # is at least `part` (the min taken as the choice's count, over
            # the band, or as the query's, with the band's shortest choice).
            # The slack, far under one character, keeps a pair whose ratio
            # rounds up to the threshold
            part = max(band_least[band], threshold * lengths[first] / 2.0 - query_skipped)
            least = threshold * length / 2.0 + part - 1e-6
            bounds = process.extract(
                rest,
                rests[first:last],
                scorer=LCSseq.similarity,
                score_cutoff=max(0, math.ceil(least)),
                limit=None,
            )
            for _, lcs, k in bounds:
                c = first + k
                bound = lcs + (query_skipped if query_skipped < skipped[c] else skipped[c])
                if 2.0 * bound >= threshold * (length + lengths[c]) - 1e-6:
                    passed.append((c, lcs))
        if not passed:
            continue
        # the second part of the bound: the LCS of the skipped characters alone
        # must make up what the LCS without them lacks
        lacking = [(threshold * (length + lengths[c]) - 1e-6) / 2.0 - lcs for c, lcs in passed]
        bounds = process.extract(
            _only(query, skip, others),
            [kept[c] for c, _ in passed],
            scorer=LCSseq.similarity,
            score_cutoff=max(0, math.ceil(min(lacking) - 1e-6)),
            limit=None,
        )
        window = [by_length[passed[k][0]] for _, lcs, k in bounds if lcs >= lacking[k]]
        if not window:
            continue
        scored = process.extract(
            query,
            window,
            scorer=fuzz.ratio,
            score_cutoff=threshold * 100.0,
            limit=None,
        )
        for choice, score, _ in scored:
            raw = score / 100.0
            if raw >= threshold:
                found.extend((q, c, raw) for q in at for c in choice_at[choice])
    return found


class _Pairing:
    """Mutable working state of one alignment (never leaves this module)."""

    def __init__(self, n_old: int, n_new: int) -> None:
        self.old_to_new: list[int | None] = [None] * n_old
        self.new_to_old: list[int | None] = [None] * n_new
        self.similarity: dict[int, float] = {}  # by old index
        self.method: dict[int, str] = {}

    def pair(self, i: int, j: int, similarity: float, method: str) -> None:
        self.old_to_new[i] = j
        self.new_to_old[j] = i
        self.similarity[i] = similarity
        self.method[i] = method

    def free_old(self) -> list[int]:
        return [i for i, j in enumerate(self.old_to_new) if j is None]

    def free_new(self) -> list[int]:
        return [j for j, i in enumerate(self.new_to_old) if i is None]


def _pair_in_order(pairing: _Pairing, old_keys: list[str], new_keys: list[str], sim) -> None:
    """Pair equal keys along the longest in-order runs (difflib matching blocks)."""
    olds, news = pairing.free_old(), pairing.free_new()
    if not olds or not news:
        return
    a = [old_keys[i] for i in olds]
    b = [new_keys[j] for j in news]
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = olds[block.a + k], news[block.b + k]
            pairing.pair(i, j, sim(i, j), "hash")


def _pair_any_order(pairing: _Pairing, old_keys: list[str], new_keys: list[str], sim) -> None:
    """Pair the remaining equal keys, first with first, in document order."""
    waiting: dict[str, list[int]] = defaultdict(list)
    for j in pairing.free_new():
        waiting[new_keys[j]].append(j)
    for i in pairing.free_old():
        queue = waiting.get(old_keys[i])
        if queue:
            j = queue.pop(0)
            pairing.pair(i, j, sim(i, j), "hash")


def _gaps(pairing: _Pairing, n_new: int) -> list[tuple[int, int]]:
    """For each old index, the open interval of new positions between the
    new partners of its nearest matched neighbours."""
    n_old = len(pairing.old_to_new)
    low = [-1] * n_old
    high = [n_new] * n_old
    last = -1
    for i in range(n_old):
        low[i] = last
        j = pairing.old_to_new[i]
        if j is not None:
            last = j
    nxt = n_new
    for i in range(n_old - 1, -1, -1):
        high[i] = nxt
        j = pairing.old_to_new[i]
        if j is not None:
            nxt = j
    return list(zip(low, high, strict=True))


def _pair_similar(
    pairing: _Pairing,
    old: Sequence[Clause],
    new: Sequence[Clause],
    old_bodies: list[str],
    new_bodies: list[str],
    threshold: float,
) -> None:
    olds, news = pairing.free_old(), pairing.free_new()
    if not olds or not news:
        return
    gaps = _gaps(pairing, len(new))
    candidates: list[tuple[float, float, int, int]] = []
    found = _similar_pairs([old_bodies[i] for i in olds], [new_bodies[j] for j in news], threshold)
    for q, c, raw in found:
        i, j = olds[q], news[c]
        low, high = gaps[i]
        bonus = GAP_BONUS if low < j < high else 0.0
        if old[i].heading_path == new[j].heading_path:
            bonus += HEADING_BONUS
        candidates.append((-(raw + bonus), -raw, i, j))
    candidates.sort()  # a total order: (i, j) is unique
    for _, negative_raw, i, j in candidates:
        if pairing.old_to_new[i] is None and pairing.new_to_old[j] is None:
            pairing.pair(i, j, -negative_raw, "similarity")


def _find_splits(
    pairing: _Pairing, old_bodies: list[str], new_bodies: list[str], threshold: float
) -> dict[int, int]:
    """Added new clauses that are parts of a split old clause -> that old index."""
    lineage: dict[int, int] = {}
    parts: dict[int, list[int]] = {}  # old index -> its new parts, partner included
    for j in pairing.free_new():
        best: tuple[float, int] | None = None
        for neighbour in (j - 1, j + 1):
            if not 0 <= neighbour < len(new_bodies):
                continue
            i = pairing.new_to_old[neighbour]
            if i is None:
                i = lineage.get(neighbour)
            if i is None or pairing.similarity.get(i, 1.0) >= 1.0:
                continue
            group = parts.get(i) or [pairing.old_to_new[i]]
            base = _ratio(old_bodies[i], " ".join(new_bodies[k] for k in sorted(group)))
            joined = _ratio(old_bodies[i], " ".join(new_bodies[k] for k in sorted([*group, j])))
            if joined >= threshold and joined >= base + SPLIT_MARGIN:
                gain = joined - base
                if best is None or gain > best[0]:
                    best = (gain, i)
        if best is not None:
            i = best[1]
            lineage[j] = i
            parts[i] = sorted([*(parts.get(i) or [pairing.old_to_new[i]]), j])
    return lineage


def _longest_increasing(values: list[int]) -> set[int]:
    """Positions (into values) of one longest strictly increasing subsequence.

    Deterministic: among equally long ones, the one patience sorting finds.
    """
    tails: list[int] = []  # values
    tail_pos: list[int] = []
    back: list[int] = [-1] * len(values)
    for pos, value in enumerate(values):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_pos.append(pos)
        else:
            tails[k] = value
            tail_pos[k] = pos
        back[pos] = tail_pos[k - 1] if k > 0 else -1
    keep: set[int] = set()
    pos = tail_pos[-1] if tail_pos else -1
    while pos != -1:
        keep.add(pos)
        pos = back[pos]
    return keep


def _prefixes(clauses: Sequence[Clause]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for path in {clause.heading_path for clause in clauses}:
        for depth in range(len(path) + 1):
            found.add(path[:depth])
    return found


def _renamed_paths(
    pairing: _Pairing, old: Sequence[Clause], new: Sequence[Clause]
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Old heading paths gone from the new version -> the new path they became."""
    old_paths, new_paths = _prefixes(old), _prefixes(new)
    votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for i, j in enumerate(pairing.old_to_new):
        if j is None:
            continue
        before, after = old[i].heading_path, new[j].heading_path
        if before != after and before not in new_paths and after not in old_paths:
            votes[before][after] += 1
    renamed: dict[tuple[str, ...], tuple[str, ...]] = {}
    for before, counter in votes.items():
        # most votes; ties go to the first-sorted path so the result is deterministic
        renamed[before] = min(counter.items(), key=lambda item: (-item[1], item[0]))[0]
    return renamed


def align_clauses(
    old: Sequence[Clause],
    new: Sequence[Clause],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[Match, ...]:
    """Match the clauses of `new` to those of `old` (see the module docstring)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    old_bodies = [_text_body(c.text) for c in old]
    new_bodies = [_text_body(c.text) for c in new]
    old_texts = [c.text for c in old]
    new_texts = [c.text for c in new]
    pairing = _Pairing(len(old), len(new))

    def body_similarity(i: int, j: int) -> float:
        return 1.0 if old_bodies[i] == new_bodies[j] else _ratio(old_bodies[i], new_bodies[j])

    _pair_in_order(pairing, old_texts, new_texts, body_similarity)
    _pair_in_order(pairing, old_bodies, new_bodies, body_similarity)
    _pair_any_order(pairing, old_texts, new_texts, body_similarity)
    _pair_any_order(pairing, old_bodies, new_bodies, body_similarity)
    _pair_similar(pairing, old, new, old_bodies, new_bodies, threshold)

    split_of = _find_splits(pairing, old_bodies, new_bodies, threshold)
    # a merge is a split seen backwards: swap the roles
    mirror = _Pairing(len(new), len(old))
    for i, j in enumerate(pairing.old_to_new):
        if j is not None:
            mirror.pair(j, i, pairing.similarity[i], pairing.method[i])
    merged_into = _find_splits(mirror, new_bodies, old_bodies, threshold)

    # moves
    renamed = _renamed_paths(pairing, old, new)
    heading_moved: set[int] = set()
    for i, j in enumerate(pairing.old_to_new):
        if j is None:
            continue
        before = old[i].heading_path
        if renamed.get(before, before) != new[j].heading_path:
            heading_moved.add(i)
    in_place = [
        i for i, j in enumerate(pairing.old_to_new) if j is not None and i not in heading_moved
    ]
    order = _longest_increasing([pairing.old_to_new[i] for i in in_place])  # type: ignore[misc]
    moved = heading_moved | {i for pos, i in enumerate(in_place) if pos not in order}

    matches: list[tuple[float, int, Match]] = []
    for i, j in enumerate(pairing.old_to_new):
        if j is None:
            continue
        if i in moved:
            kind = "moved"
        elif old_texts[i] == new_texts[j]:
            kind = "unchanged"
        else:
            kind = "modified"
        matches.append((j, 0, Match(i, j, kind, pairing.similarity[i], pairing.method[i])))
    for j in pairing.free_new():
        matches.append((j, 0, Match(None, j, "added", 0.0, "none", split_of.get(j))))
    anchor = -0.5
    for i in range(len(old)):
        j = pairing.old_to_new[i]
        if j is not None:
            anchor = j
            continue
        matches.append((anchor, 1 + i, Match(i, None, "removed", 0.0, "none", merged_into.get(i))))
    matches.sort(key=lambda item: (item[0], item[1]))
    return tuple(match for _, _, match in matches)
