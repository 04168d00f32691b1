"""bench.fidelity on a tiny fake corpus laid out like the real one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpus import load_corpus
from bench.fidelity import main, measure_changes, run, score, tokenize

PARAS = [
    "We collect your name and email address when you register.",
    "We share data with processors under contract only.",
    "You can delete your account at any time from the settings page.",
    "Contact the privacy team with any question about this policy.",
]


def html(paragraphs, *, noise: str = "", title: str = "Privacy") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html><head><script nonce="{noise}">var x=1;</script></head><body>'
        f'<nav>Home Blog</nav><main id="doc"><h1>{title}</h1>{body}</main>'
        "<footer>Copyright Example</footer></body></html>"
    )


def gold(paragraphs, title: str = "Privacy") -> str:
    return f"{title}\n{'=' * len(title)}\n\n" + "\n\n".join(paragraphs) + "\n"


def write_corpus(root: Path) -> None:
    rows = []

    def add(service, name, kind, text, **fields):
        path = f"demo/{service}/Privacy Policy/{name}"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, "utf-8")
        rows.append(
            {
                "collection": "demo",
                "service": service,
                "terms_type": "Privacy Policy",
                "kind": kind,
                "path": path,
                **fields,
            }
        )
        return path

    decl = {"fetch": "https://a.test/p", "select": ["#doc"], "combined_sources": 1}
    # document A: v1, a noise snapshot, then v2 (one paragraph dropped)
    v1 = "demo/A/Privacy Policy/20240101T000000Z.md"
    v2 = "demo/A/Privacy Policy/20240301T000000Z.md"
    snaps = [
        ("20240101T000000Z.html", "2024-01-01T00:00:00Z", PARAS, "referenced", v1, "n1"),
        ("20240201T000000Z.html", "2024-02-01T00:00:00Z", PARAS, "noise", v1, "n2"),
        ("20240301T000000Z.html", "2024-03-01T00:00:00Z", PARAS[:3], "referenced", v2, "n3"),
    ]
    paths = {}
    for name, when, paras, role, version, nonce in snaps:
        paths[name] = add(
            "A",
            name,
            "snapshot",
            html(paras, noise=nonce),
            capture_time=when,
            media_type="text/html",
            fetch_url="https://a.test/p",
            declaration=decl,
            role=role,
            version_in_effect_path=version,
            paired_versions=[version] if role == "referenced" else [],
            source_slug=None,
        )
    add(
        "A",
        "20240101T000000Z.md",
        "version",
        gold(PARAS),
        capture_time="2024-01-01T00:00:00Z",
        snapshot_refs=[{"corpus_path": [paths["20240101T000000Z.html"]]}],
    )
    add(
        "A",
        "20240301T000000Z.md",
        "version",
        gold(PARAS[:3]),
        capture_time="2024-03-01T00:00:00Z",
        snapshot_refs=[{"corpus_path": [paths["20240301T000000Z.html"]]}],
    )
    # document B: two pages fetched together, one version, gold lacks a paragraph
    decl_b = {**decl, "combined_sources": 2}
    vb = "demo/B/Privacy Policy/20240101T000000Z.md"
    pb1 = add(
        "B",
        "20240101T000000Z.one.html",
        "snapshot",
        html(PARAS[:2], title="One"),
        capture_time="2024-01-01T00:00:00Z",
        media_type="text/html",
        declaration=decl_b,
        role="referenced",
        version_in_effect_path=vb,
        paired_versions=[vb],
        source_slug="one",
    )
    pb2 = add(
        "B",
        "20240101T000000Z.two.html",
        "snapshot",
        html(PARAS[2:], title="Two"),
        capture_time="2024-01-01T00:00:00Z",
        media_type="text/html",
        declaration=decl_b,
        role="referenced",
        version_in_effect_path=vb,
        paired_versions=[vb],
        source_slug="two",
    )
    add(
        "B",
        "20240101T000000Z.md",
        "version",
        gold(PARAS[:2], "One") + "\n- - -\n\n" + gold(PARAS[2:3], "Two"),
        capture_time="2024-01-01T00:00:00Z",
        snapshot_refs=[{"corpus_path": [pb1]}, {"corpus_path": [pb2]}],
    )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")


def test_tokenize_strips_markdown():
    md = "## 1. Title\n\n- **Bold** [link text](https://x.test/a_b) ![img](i.png)\n\n| a | b |\n|---|---|\n1. item\n"
    assert tokenize(md) == ["1", "title", "bold", "link", "text", "a", "b", "item"]
    assert tokenize("数据处理") == ["数", "据", "处", "理"]


def test_score_identical_and_dropped():
    text = "alpha beta gamma delta"
    assert score(text, text).f1 == 1.0
    s = score("alpha beta gamma", text)
    assert s.precision == 1.0 and s.recall == 0.75


def test_fidelity_on_a_fake_corpus(tmp_path):
    write_corpus(tmp_path)
    docs = load_corpus(tmp_path)
    assert [d.key[1] for d in docs] == ["A", "B"]
    assert docs[1].sources == ("one", "two")
    result = run(tmp_path)
    for mode in ("no_selectors", "selectors"):
        per_doc = result["fidelity"][mode]["per_document"]
        assert per_doc["A / Privacy Policy"]["min_f1"] == 1.0
        # B: ours has PARAS[3] (10 tokens) that the gold lacks -> precision < 1
        row = next(
            r for r in result["fidelity"][mode]["snapshots"] if r["document"].startswith("B")
        )
        gold_tokens = len(tokenize(gold(PARAS[:2], "One") + gold(PARAS[2:3], "Two")))
        extra = len(tokenize(PARAS[3]))
        assert row["recall"] == 1.0
        assert row["precision"] == round(gold_tokens / (gold_tokens + extra), 4)
        assert len(result["fidelity"][mode]["worst"]) == 3
    changes = result["changes"]
    assert changes["recall"] == 1.0 and changes["precision"] == 1.0
    assert changes["noise_versions"] == 0
    assert changes["per_document"]["A / Privacy Policy"]["true_positive"] == 1


def test_noise_version_is_counted(tmp_path):
    write_corpus(tmp_path)
    docs = [d for d in load_corpus(tmp_path) if d.key[1] == "A"]
    from transforms.records import Extraction

    def fake(snap):  # a different text at the noise snapshot
        return Extraction(status="ok", text=f"text of {snap.path} {snap.role}")

    changes = measure_changes(tmp_path, docs, fake)
    assert changes["noise_versions"] == 1
    assert changes["precision"] == 0.5 and changes["recall"] == 1.0


def test_missing_corpus_exits_cleanly(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "r.json")]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("bad", ["", "not json"])
def test_tokenize_tolerates_anything(bad):
    assert isinstance(tokenize(bad), list)


# ---------------------------------------------------------------------------
# change detection: the shipped versioning, and the gold's version boundaries


def history_corpus(root: Path, snapshots, versions) -> list:
    """A one-document corpus from (time, source, role, paired) snapshots and
    (time, text, [(time, source)]) versions; returns its loaded documents."""
    folder = "demo/S/Terms of Service"
    (root / folder).mkdir(parents=True)

    def snap_path(when, source):
        return f"{folder}/{when}{'.' + source if source else ''}.html"

    def version_path(when):
        return f"{folder}/{when}.md"

    rows = []
    for when, text, refs in versions:
        (root / version_path(when)).write_text(text, "utf-8")
        rows.append(
            {
                "collection": "demo",
                "service": "S",
                "terms_type": "Terms of Service",
                "kind": "version",
                "path": version_path(when),
                "capture_time": when,
                "snapshot_refs": [{"corpus_path": [snap_path(*ref)]} for ref in refs],
            }
        )
    for when, source, role, paired, pages in snapshots:
        rows.append(
            {
                "collection": "demo",
                "service": "S",
                "terms_type": "Terms of Service",
                "kind": "snapshot",
                "path": snap_path(when, source),
                "capture_time": when,
                "media_type": "text/html",
                "fetch_url": "https://s.test/" + source,
                "declaration": {"combined_sources": pages},
                "role": role,
                "paired_versions": [version_path(paired)] if paired else [],
                "version_in_effect_path": version_path(paired) if paired else None,
                "source_slug": source or None,
            }
        )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return load_corpus(root)


def texts_by_path(mapping):
    from transforms.records import Extraction

    def extract(snap):
        for key, text in mapping.items():
            if key in snap.path:
                return Extraction(status="ok", text=text)
        raise AssertionError(snap.path)

    return extract


T1, T1B, T2 = "2024-01-01T00:00:00Z", "2024-01-01T00:00:20Z", "2024-06-01T00:00:00Z"


def test_pages_of_one_fetch_seconds_apart_are_one_version(tmp_path):
    # pages one and two fetched 20 s apart: no text until both are seen, as
    # combine_pages does (the old simulation counted a change at the second)
    docs = history_corpus(
        tmp_path,
        [(T1, "one", "referenced", T1B, 2), (T1B, "two", "referenced", T1B, 2)],
        [(T1B, "Alpha.\n\nBeta.\n", [(T1, "one"), (T1B, "two")])],
    )
    extract = texts_by_path({".one.": "Alpha.\n", ".two.": "Beta.\n"})
    changes = measure_changes(tmp_path, docs, extract)
    assert changes["our_changes"] == 0 and changes["gold_changes"] == 0


def test_a_gold_change_is_where_its_version_starts(tmp_path):
    # page one is refetched at T2 - 1 day and tied to the version recorded
    # at T2 (when page two changed): the gold change is at T2, not earlier
    early = "2024-05-31T00:00:00Z"
    docs = history_corpus(
        tmp_path,
        [
            (T1, "one", "referenced", T1, 2),
            (T1, "two", "referenced", T1, 2),
            (early, "one", "referenced", T2, 2),
            (T2, "two", "referenced", T2, 2),
        ],
        [
            (T1, "Alpha.\n\nBeta.\n", [(T1, "one"), (T1, "two")]),
            (T2, "Alpha.\n\nGamma.\n", [(early, "one"), (T2, "two")]),
        ],
    )
    extract = texts_by_path(
        {
            f"{T1}.one": "Alpha.\n",
            f"{early}.one": "Alpha.\n",
            f"{T1}.two": "Beta.\n",
            f"{T2}.two": "Gamma.\n",
        }
    )
    changes = measure_changes(tmp_path, docs, extract)
    events = changes["per_document"]["S / Terms of Service"]["events"]
    assert [(e["capture_time"][:10], e["ours"], e["gold"]) for e in events] == [
        ("2024-06-01", True, True)
    ]
    assert changes["recall"] == 1.0 and changes["precision"] == 1.0


def test_a_switch_from_one_page_to_two_is_versioned(tmp_path):
    docs = history_corpus(
        tmp_path,
        [
            (T1, "", "referenced", T1, 1),
            (T2, "one", "referenced", T2, 2),
            (T2, "two", "referenced", T2, 2),
        ],
        [
            (T1, "Alpha.\n", [(T1, "")]),
            (T2, "Alpha.\n\nBeta.\n", [(T2, "one"), (T2, "two")]),
        ],
    )
    extract = texts_by_path({".one.": "Alpha.\n", ".two.": "Beta.\n", T1: "Alpha.\n"})
    changes = measure_changes(tmp_path, docs, extract)
    assert changes["our_changes"] == 1
    assert changes["recall"] == 1.0 and changes["precision"] == 1.0


def test_a_rejected_collapse_opens_no_version(tmp_path):
    long_text = "\n\n".join(f"## Section {n}\n\n" + PARAS[n % 4] for n in range(8)) + "\n"
    docs = history_corpus(
        tmp_path,
        [(T1, "", "referenced", T1, 1), (T2, "", "referenced", T1, 1)],
        [(T1, long_text, [(T1, "")])],
    )
    extract = texts_by_path({T1: long_text, T2: "Oops.\n"})
    assert measure_changes(tmp_path, docs, extract)["our_changes"] == 0


def test_change_tokens_keep_emphasis_and_ignore_spelling():
    from bench.fidelity import change_tokens

    assert change_tokens("**Effective: May 1**") != change_tokens("**Effective:** May 1")
    assert change_tokens("* one\n* two\n") == change_tokens("*   one\n\n*   two\n")
    assert change_tokens("[Terms](https://a.test/?id=1)") == change_tokens(
        "[Terms](https://a.test/?id=2)"
    )
    assert change_tokens("MJ\\_Report.png") == change_tokens("MJ_Report.png")


def test_inline_html_is_markdown_syntax():
    assert tokenize("| a<br><br>b | c <br/> d |") == ["a", "b", "c", "d"]
    assert tokenize("x < y and <span class='k'>z</span>") == ["x", "y", "and", "z"]
