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
