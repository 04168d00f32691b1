"""The sources registry: platforms and the documents tracked for each.

`parse_registry` validates a registry already loaded from YAML (a plain dict)
and returns `DocumentSpec` records. Reading the file is the caller's job; the
caller passes the file name so that every error can name it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from transforms.records import DocumentSpec

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: what str.isspace calls a space


class RegistryError(ValueError):
    """The registry is malformed: the message names the file, the entry and the fault."""


def parse_registry(
    data: object, *, source: str, terms_types: Iterable[str]
) -> tuple[DocumentSpec, ...]:
    """Validate a loaded registry and return its documents in file order."""
    valid_types = tuple(terms_types)
    if not isinstance(data, Mapping) or not isinstance(data.get("platforms"), list):
        raise RegistryError(f"{source}: the top level must be a mapping with a 'platforms' list")
    specs: list[DocumentSpec] = []
    seen: set[str] = set()
    for p_index, platform in enumerate(data["platforms"]):
        where = f"{source}: platforms[{p_index}]"
        if not isinstance(platform, Mapping):
            raise RegistryError(f"{where}: each platform must be a mapping")
        p_slug = _slug(platform.get("slug"), where, "slug")
        where = f"{source}: platform '{p_slug}'"
        p_name = _text(platform.get("name", p_slug), where, "name")
        documents = platform.get("documents")
        if not isinstance(documents, list) or not documents:
            raise RegistryError(f"{where}: 'documents' must be a non-empty list")
        for d_index, doc in enumerate(documents):
            d_where = f"{where}, documents[{d_index}]"
            if not isinstance(doc, Mapping):
                raise RegistryError(f"{d_where}: each document must be a mapping")
            unknown = set(doc) - {"slug", "name", "type", "urls", "url", "select", "remove"}
            if unknown:
                raise RegistryError(f"{d_where}: unknown field(s) {sorted(unknown)}")
            d_slug = _slug(doc.get("slug"), d_where, "slug")
            d_where = f"{where}, document '{d_slug}'"
            key = f"{p_slug}/{d_slug}"
            if key in seen:
                raise RegistryError(f"{d_where}: duplicate document '{key}'")
            seen.add(key)
            terms_type = doc.get("type")
            if terms_type not in valid_types:
                raise RegistryError(
                    f"{d_where}: unknown type {terms_type!r}; valid types are: "
                    + ", ".join(valid_types)
                )
            urls = doc.get("urls", [doc["url"]] if "url" in doc else None)
            if not isinstance(urls, list) or not urls:
                raise RegistryError(f"{d_where}: 'urls' must be a non-empty list of URLs")
            specs.append(
                DocumentSpec(
                    platform=p_slug,
                    platform_name=p_name,
                    slug=d_slug,
                    name=_text(doc.get("name", d_slug), d_where, "name"),
                    terms_type=terms_type,
                    urls=tuple(_url(u, d_where) for u in urls),
                    select=_selectors(doc.get("select"), d_where, "select"),
                    remove=_selectors(doc.get("remove"), d_where, "remove"),
                )
            )
    if not specs:
        raise RegistryError(f"{source}: no documents declared")
    return tuple(specs)


def _slug(value: object, where: str, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise RegistryError(
            f"{where}: '{field}' must be lowercase letters, digits and dashes "
            f"(at most 63 characters), got {value!r}"
        )
    return value


def _text(value: object, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RegistryError(f"{where}: '{field}' must be a non-empty string, got {value!r}")
    return value.strip()


def _url(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise RegistryError(f"{where}: URL must be a string, got {value!r}")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError as err:
        raise RegistryError(f"{where}: URL cannot be parsed ({err}): {value!r}") from err
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(f"{where}: URL must be http(s) with a host, got {value!r}")
    if _SPACE_OR_CONTROL.search(value.strip()):
        raise RegistryError(f"{where}: URL contains whitespace or control characters: {value!r}")
    return value.strip()


def _selectors(value: object, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError(f"{where}: '{field}' must be a CSS selector or a list of them")
    selectors = tuple(v.strip() for v in value)
    for css in selectors:
        fault = _selector_fault(css)
        if fault:
            raise RegistryError(f"{where}: '{field}' holds a bad selector {css!r}: {fault}")
    return selectors


def _selector_fault(css: str) -> str | None:
    """Why `css` is not a selector the extractor can use (a CSS selector, or an
    Open Terms Archive range as JSON), or None. Checked here so that a typo is
    a registry error at the start of a run, not a crash in the middle of one."""
    import json

    from lxml.cssselect import CSSSelector  # what the extractor compiles them with

    parts = [css]
    if css.startswith("{"):
        try:
            spec = json.loads(css)
        except ValueError as err:
            return f"not a valid range selector (JSON): {err}"
        if not isinstance(spec, dict) or not all(isinstance(v, str) for v in spec.values()):
            return "a range selector maps startBefore/startAfter/endBefore/endAfter to CSS"
        parts = list(spec.values())
    for part in parts:
        try:
            CSSSelector(part)
        except Exception as err:  # noqa: BLE001 - cssselect raises several types
            return str(err) or type(err).__name__
    return None
