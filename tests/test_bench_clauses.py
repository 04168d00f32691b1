import json
from pathlib import Path

from bench.clauses import main, run


def write_corpus(root: Path) -> None:
    texts = {
        "20240101T000000Z.md": "# Terms\n\nWe keep data 30 days.\n\nYou may cancel.\n\nBe nice.\n",
        "20240601T000000Z.md": "# Terms\n\nWe keep data 5 years.\n\nYou may cancel.\n\nBe nice.\n",
        "20240601T000000Z~2.md": "# Terms\n\nWe keep data 5 years.\n\nYou may cancel.\n\nBe nice.\n",
    }
    folder = root / "c" / "Svc" / "Terms of Service"
    folder.mkdir(parents=True)
    rows = []
    for name, text in texts.items():
        (folder / name).write_text(text)
        when = name[:16]
        rows.append(
            {
                "collection": "c",
                "service": "Svc",
                "terms_type": "Terms of Service",
                "kind": "version",
                "path": f"c/Svc/Terms of Service/{name}",
                "capture_time": f"{when[:4]}-{when[4:6]}-{when[6:8]}T00:00:00Z",
            }
        )
    (root / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_clause_benchmark_counts_carried_and_changed_clauses(tmp_path):
    write_corpus(tmp_path)
    result = run(tmp_path)
    doc = result["per_document"]["c/Svc/Terms of Service"]
    assert doc["versions"] == 2  # the ~2 re-extraction replaces, it is not a version
    assert doc["clauses_per_version"]["median"] == 3
    assert doc["carried_unchanged"]["per_pair"] == [round(2 / 3, 4)]
    assert doc["aligned_by_hash"] == 2 and doc["aligned_by_similarity"] == 1
    assert doc["changes"] == {"modified": 1}


def test_missing_corpus_is_skipped(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path / "none")]) == 0
    assert "skipped" in capsys.readouterr().out
