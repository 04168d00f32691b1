from pathlib import Path

import pytest

from flows.settings import load_registry, terms_types
from transforms.registry import RegistryError, parse_registry

TYPES = terms_types()


def registry(**doc):
    base = {
        "slug": "privacy",
        "name": "Privacy",
        "type": "Privacy Policy",
        "urls": ["https://example.com/privacy"],
    }
    base.update(doc)
    return {"platforms": [{"slug": "acme", "name": "Acme", "documents": [base]}]}


def test_default_registry_is_valid_and_covers_the_named_platforms(repo_root: Path):
    specs = load_registry(repo_root / "sources.yaml")
    platforms = {s.platform for s in specs}
    assert {"anthropic", "openai", "google", "meta", "xai", "mistral", "microsoft"} <= platforms
    anthropic = {s.slug for s in specs if s.platform == "anthropic"}
    assert anthropic == {"consumer-terms", "privacy-policy", "usage-policy", "commercial-terms"}
    assert all(u.startswith("https://") for s in specs for u in s.urls)
    assert len({s.key for s in specs}) == len(specs)


def test_multi_page_document_keeps_url_order():
    data = registry(urls=["https://e.com/a", "https://e.com/b"], select="main", remove=["nav"])
    (spec,) = parse_registry(data, source="r.yaml", terms_types=TYPES)
    assert spec.urls == ("https://e.com/a", "https://e.com/b")
    assert spec.select == ("main",)
    assert spec.remove == ("nav",)
    assert spec.key == "acme/privacy"


def test_unknown_type_lists_the_valid_ones():
    with pytest.raises(RegistryError) as err:
        parse_registry(registry(type="Privacy Polcy"), source="r.yaml", terms_types=TYPES)
    message = str(err.value)
    assert "r.yaml" in message and "document 'privacy'" in message
    assert "'Privacy Polcy'" in message and "Acceptable Use Policy" in message


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"urls": ["ftp://e.com/x"]}, "http(s)"),
        ({"urls": ["file:///etc/passwd"]}, "http(s)"),
        ({"urls": []}, "non-empty list"),
        ({"slug": "../../x"}, "'slug'"),
        ({"select": [3]}, "CSS selector"),
        ({"colour": "red"}, "unknown field"),
        ({"urls": ["https://e.com/a b"]}, "whitespace"),
    ],
)
def test_malformed_entries_name_file_entry_and_fault(doc, fragment):
    with pytest.raises(RegistryError) as err:
        parse_registry(registry(**doc), source="my.yaml", terms_types=TYPES)
    assert "my.yaml" in str(err.value)
    assert "acme" in str(err.value)
    assert fragment in str(err.value)


def test_duplicate_documents_rejected():
    data = registry()
    data["platforms"][0]["documents"].append(dict(data["platforms"][0]["documents"][0]))
    with pytest.raises(RegistryError, match="duplicate document 'acme/privacy'"):
        parse_registry(data, source="r.yaml", terms_types=TYPES)


def test_file_errors_name_the_file(tmp_path: Path):
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms: [\n")
    with pytest.raises(RegistryError, match="bad.yaml: not valid YAML"):
        load_registry(bad)
    top = tmp_path / "top.yaml"
    top.write_text("- just a list\n")
    with pytest.raises(RegistryError, match="'platforms' list"):
        load_registry(top)


def test_a_registry_read_again_in_one_process_follows_the_file(tmp_path: Path):
    # the parsed registry is remembered by its text (a long-lived process does
    # not parse an unchanged file again): an edit must still be seen at once,
    # and a file that turns bad must fail on every read, not only the first
    import yaml

    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(registry(name="Privacy")))
    (first,) = load_registry(path)
    assert load_registry(path) == (first,)
    path.write_text(yaml.safe_dump(registry(name="Privacy notice")))
    (edited,) = load_registry(path)
    assert (first.name, edited.name) == ("Privacy", "Privacy notice")
    path.write_text(yaml.safe_dump(registry(urls=["ftp://example.com/privacy"])))
    for _ in range(2):
        with pytest.raises(RegistryError, match="sources.yaml.*must be http"):
            load_registry(path)
    # the same text under another name: its errors name that file
    other = tmp_path / "other.yaml"
    other.write_text(path.read_text())
    with pytest.raises(RegistryError, match="other.yaml"):
        load_registry(other)


def test_a_data_folder_with_its_own_registry_is_read_with_it(tmp_path: Path):
    from flows.settings import Settings

    folder = tmp_path / "demo"
    folder.mkdir()
    assert Settings.from_env({}, data_dir=folder).sources == Path("sources.yaml")
    (folder / "sources.yaml").write_text("platforms: []\n")
    assert Settings.from_env({}, data_dir=folder).sources == folder / "sources.yaml"
    env = {"CLAUSETRAIL_DATA_DIR": str(folder)}
    assert Settings.from_env(env).sources == folder / "sources.yaml"
    # a registry named on the command line or in the environment still wins
    named = {"CLAUSETRAIL_SOURCES": "elsewhere.yaml"}
    assert Settings.from_env(named, data_dir=folder).sources == Path("elsewhere.yaml")
    assert Settings.from_env({}, data_dir=folder, sources="x.yaml").sources == Path("x.yaml")
