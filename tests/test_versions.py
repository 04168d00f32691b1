from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.records import Observation, sha256_hex
from transforms.versions import PageText, build_versions, combine_pages, screen_pages

T0 = datetime(2022, 1, 1, tzinfo=UTC)


def obs(day: int, text: str, cid: str | None = None) -> Observation:
    return Observation(T0 + timedelta(days=day), sha256_hex(text), (cid or f"c{day}",))


def test_a_b_a_is_three_versions_and_intervals_chain():
    versions = build_versions("D-00001", [obs(0, "A"), obs(5, "A"), obs(9, "B"), obs(20, "A")])
    assert [v.text_sha256 for v in versions] == [sha256_hex(t) for t in "ABA"]
    assert versions[0].valid_from == T0
    assert versions[0].valid_to == T0 + timedelta(days=9)
    assert versions[0].last_seen_at == T0 + timedelta(days=5)
    assert versions[0].capture_ids == ("c0", "c5")
    assert versions[1].valid_to == versions[2].valid_from
    assert versions[2].valid_to is None
    assert len({v.version_id for v in versions}) == 3


def test_order_of_input_does_not_matter():
    items = [obs(3, "B"), obs(0, "A"), obs(7, "A")]
    assert build_versions("D-1", items) == build_versions("D-1", list(reversed(items)))


def test_stated_date_comes_from_the_callback():
    from datetime import date

    versions = build_versions("D-1", [obs(0, "A")], stated_date=lambda sha: date(2021, 5, 4))
    assert versions[0].stated_date == date(2021, 5, 4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("ABC"), min_size=1, max_size=40))
def test_versions_are_the_runs_of_the_sequence(texts):
    observations = [obs(i, t) for i, t in enumerate(texts)]
    versions = build_versions("D-1", observations)
    runs = [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]
    assert [v.text_sha256 for v in versions] == [sha256_hex(t) for t in runs]
    assert sum(len(v.capture_ids) for v in versions) == len(texts)
    for earlier, later in zip(versions, versions[1:], strict=False):
        assert earlier.valid_to == later.valid_from
        assert earlier.text_sha256 != later.text_sha256
    assert versions[-1].valid_to is None
    assert build_versions("D-1", observations) == versions


def test_multi_page_document_waits_for_every_page_and_concatenates_in_order():
    texts = {sha256_hex(t): t for t in ["terms v1", "aup v1", "terms v2"]}
    pages = [
        PageText(1, T0 + timedelta(days=1), "aup-1", sha256_hex("aup v1")),
        PageText(0, T0 + timedelta(days=2), "terms-1", sha256_hex("terms v1")),
        PageText(0, T0 + timedelta(days=5), "terms-2", sha256_hex("terms v2")),
        PageText(1, T0 + timedelta(days=8), "aup-2", sha256_hex("aup v1")),
    ]
    observations, combined = combine_pages(pages, 2, texts)
    assert [o.observed_at for o in observations] == [T0 + timedelta(days=d) for d in (2, 5, 8)]
    first = combined[observations[0].text_sha256]
    assert first == "terms v1\n\naup v1"
    assert observations[0].capture_ids == ("terms-1", "aup-1")
    versions = build_versions("D-2", observations)
    assert len(versions) == 2  # day 8 repeats day 5's text
    assert versions[1].capture_ids == ("terms-2", "aup-1", "aup-2")


def test_screen_drops_collapsed_pages_but_keeps_later_good_ones():
    policy = "# Policy\n\n" + "We collect data. " * 50
    error = "Page not found"
    texts = {sha256_hex(t): t for t in [policy, error]}
    pages = [
        PageText(0, T0, "a", sha256_hex(policy)),
        PageText(0, T0 + timedelta(days=1), "b", sha256_hex(error)),
        PageText(0, T0 + timedelta(days=2), "c", sha256_hex(policy)),
    ]

    def collapse(text, reference):
        return "size collapse" if len(text) < len(reference) / 4 else None

    accepted, rejected = screen_pages(pages, texts, collapse)
    assert [p.capture_id for p in accepted] == ["a", "c"]
    assert [(r.capture_id, r.reason) for r in rejected] == [("b", "size collapse")]


def test_screen_asks_once_per_pair_of_texts_and_never_for_a_text_against_itself():
    policy = "# Policy\n\n" + "We collect data. " * 50
    edited = policy + "We also sell it."
    error = "Page not found"
    texts = {sha256_hex(t): t for t in [policy, edited, error]}
    order = [policy, policy, error, error, edited, edited, policy, error]
    pages = [
        PageText(0, T0 + timedelta(days=k), f"c{k}", sha256_hex(t)) for k, t in enumerate(order)
    ]
    asked = []

    def collapse(text, reference):
        asked.append((text, reference))
        return "size collapse" if len(text) < len(reference) / 4 else None

    accepted, rejected = screen_pages(pages, texts, collapse)
    assert [p.capture_id for p in accepted] == ["c0", "c1", "c4", "c5", "c6"]
    assert [r.capture_id for r in rejected] == ["c2", "c3", "c7"]
    assert all(text != reference for text, reference in asked)
    # (error, policy) came up three times and was judged once
    assert sorted(asked) == sorted([(error, policy), (edited, policy), (policy, edited)])


def test_pages_captured_at_the_same_instant_are_one_observation():
    texts = {sha256_hex(t): t for t in ["p0 old", "p0 new", "p1 old", "p1 new"]}
    later = T0 + timedelta(days=3)
    pages = [
        PageText(0, T0, "a0", sha256_hex("p0 old")),
        PageText(1, T0, "a1", sha256_hex("p1 old")),
        # both pages change at one instant: no text with only one of them
        PageText(1, later, "b1", sha256_hex("p1 new")),
        PageText(0, later, "b0", sha256_hex("p0 new")),
    ]
    observations, combined = combine_pages(pages, 2, texts)
    assert [o.observed_at for o in observations] == [T0, later]
    assert [combined[o.text_sha256] for o in observations] == [
        "p0 old\n\np1 old",
        "p0 new\n\np1 new",
    ]
    assert observations[1].capture_ids == ("b0", "b1")
    versions = build_versions("D-1", observations)
    assert len(versions) == 2 and all(v.valid_to != v.valid_from for v in versions)
