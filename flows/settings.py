"""Settings, built once at the entry point and passed down.

Every field can be set by an environment variable `CLAUSETRAIL_<FIELD>` (upper
case) or by the CLI; the CLI wins. Nothing reads the environment at import.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from transforms.records import DocumentSpec
from transforms.registry import RegistryError, parse_registry

DEFAULT_USER_AGENT = (
    "clausetrail/0.1 (+https://github.com/clausetrail/clausetrail; policy-history research)"
)


class SettingsError(ValueError):
    """A setting has a value of the wrong type or out of range; the message names it
    and where it came from (the environment variable or the command line)."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    data_dir: Path = Field(
        Path("data"), description="where the DuckDB file, raw store and exports live"
    )
    sources: Path = Field(
        Path("sources.yaml"),
        description="the registry of platforms and documents "
        "(from_env: <data_dir>/sources.yaml when that file exists)",
    )
    wayback_base: str = Field(
        "https://web.archive.org", description="archive base URL (CDX + id_ replay)"
    )
    archive_api: Literal["wayback", "pywb"] = Field(
        "wayback",
        description="the API the archive at wayback_base speaks: 'wayback' (the Internet "
        "Archive's /cdx/search/cdx and /web/<ts>id_/<url>) or 'pywb' (a pywb collection's "
        "/<coll>/cdx and /<coll>/<ts>id_/<url>)",
    )
    archive_collection: str | None = Field(
        None,
        validate_default=True,
        description="the pywb collection to read (required with archive_api 'pywb')",
    )
    archive_cdx_endpoint: str | None = Field(
        None,
        validate_default=True,
        description="pywb's cdx_api_endpoint, appended to /<coll> (default '/cdx'; "
        "only with archive_api 'pywb')",
    )
    live_proxy: str | None = Field(
        None, description="HTTP proxy for live pages (the demo uses its local site)"
    )
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    max_bytes: int = Field(20_000_000, ge=1, description="body-size cap per fetch, in bytes")
    cdx_per_second: float = Field(0.4, ge=0, description="CDX requests per second (0 = unlimited)")
    replay_per_second: float = Field(
        8.0, ge=0, description="replay requests per second (0 = unlimited)"
    )
    max_attempts: int = Field(5, ge=1)
    backoff_seconds: float = Field(2.0, ge=0, description="first retry delay; doubles each attempt")
    max_wait_seconds: float = Field(
        300.0, ge=0, description="longest Retry-After the client will sleep"
    )
    workers: int = Field(
        2, ge=1, description="processes for extraction and document builds, threads for fetching"
    )
    progress: bool = Field(True, description="show progress bars on a terminal")
    lock_wait_seconds: float = Field(
        0.0,
        ge=0,
        description="how long a run waits for another writer to release the DuckDB file "
        "(0 = fail at once; the scheduled deployments wait 6 hours)",
    )
    database_file: Path | None = Field(
        None, description="DuckDB file (default: <data_dir>/clausetrail.duckdb)"
    )

    @field_validator("wayback_base")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the archive base URL must be an http(s) URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("the archive base URL takes no query or fragment")
        return value.strip().rstrip("/")

    @field_validator("archive_collection")
    @classmethod
    def _collection(cls, value: str | None, info: ValidationInfo) -> str | None:
        api = info.data.get("archive_api")
        if api == "pywb" and not value:
            raise ValueError(
                "archive_api is 'pywb': name the collection to read "
                "(CLAUSETRAIL_ARCHIVE_COLLECTION, e.g. 'policies' for /policies/cdx)"
            )
        if api != "pywb" and value is not None:
            raise ValueError(
                "a collection is only read with archive_api 'pywb' "
                "(the Internet Archive has none); set CLAUSETRAIL_ARCHIVE_API=pywb"
            )
        if value is None:
            return value
        # the client's rule, imported only when a collection is given: the read
        # commands would otherwise import the HTTP client (0.13 s)
        from flows.client import PYWB_COLLECTION

        if not PYWB_COLLECTION.match(value):
            raise ValueError(
                "a pywb collection name is letters, digits, '_' and '-', "
                "not starting with '-' (wb-manager's rule)"
            )
        return value

    @field_validator("archive_cdx_endpoint")
    @classmethod
    def _cdx_endpoint(cls, value: str | None, info: ValidationInfo) -> str | None:
        api = info.data.get("archive_api")
        if value is None:
            return "/cdx" if api == "pywb" else None
        if api != "pywb":
            raise ValueError("a CDX endpoint is only set with archive_api 'pywb'")
        from flows.client import PYWB_CDX_ENDPOINT

        if not PYWB_CDX_ENDPOINT.match(value):
            raise ValueError(
                "pywb's cdx_api_endpoint starts with '/' or '-' and holds no spaces, "
                "'?' or '#' (e.g. '/cdx' or '-index')"
            )
        return value

    @property
    def database(self) -> Path:
        return self.database_file or self.data_dir / "clausetrail.duckdb"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "export"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = f"CLAUSETRAIL_{name.upper()}"
            if key in environ:
                values[name] = environ[key]
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        if "sources" not in values:
            # a data folder that carries its own registry (the demo's, an
            # import's copy) is processed with it, not with ./sources.yaml
            data_dir = Path(str(values.get("data_dir", cls.model_fields["data_dir"].default)))
            if (data_dir / "sources.yaml").is_file():
                values["sources"] = data_dir / "sources.yaml"
        try:
            return cls(**values)
        except ValidationError as err:
            faults = []
            for e in err.errors():
                name = str(e["loc"][0]) if e["loc"] else "?"
                # a value given as an argument is the command line's; any
                # other (the environment's, or a default a rule refuses) is
                # named by its environment variable
                where = (
                    "--" + name.replace("_", "-")
                    if name in given
                    else f"CLAUSETRAIL_{name.upper()}"
                )
                faults.append(f"{where}: {e['msg']}, got {e.get('input')!r}")
            raise SettingsError("bad setting: " + "; ".join(faults)) from None


@functools.cache  # a file of the package: read once per process
def terms_types() -> tuple[str, ...]:
    """The Open Terms Archive terms types (a copy of its reference list)."""
    text = resources.files("flows").joinpath("data", "ota-terms-types.json").read_text("utf-8")
    return tuple(json.loads(text))


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key given twice in one mapping: YAML keeps
    the last silently, so a repeated `urls:` or `slug:` would drop the first."""


def _unique_mapping(loader, node, deep=False):  # type: ignore[no-untyped-def]
    seen: set[object] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_registry(path: Path) -> tuple[DocumentSpec, ...]:
    """Read and validate a registry file; errors name the file and the entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise RegistryError(f"{path}: registry file not found") from err
    except UnicodeDecodeError as err:
        raise RegistryError(f"{path}: the registry must be UTF-8 text: {err}") from err
    except OSError as err:
        raise RegistryError(f"{path}: cannot read the registry: {err.strerror or err}") from err
    return _parse_registry_text(text, str(path))


@functools.lru_cache(maxsize=8)
def _parse_registry_text(text: str, source: str) -> tuple[DocumentSpec, ...]:
    """The documents of a registry's text. Remembered: a long-lived process
    (`serve`, or flows run one after another) reads an unchanged file
    without parsing and checking it again (YAML and checks took about 10 ms
    for 40 documents, a seventh of a run with nothing to do). The specs are
    frozen, so a caller cannot change the remembered tuple."""
    try:
        # libyaml's loader when the wheel has it: a few ms instead of 70 for a
        # registry of 40 documents
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        raise RegistryError(f"{source}: not valid YAML: {err}") from err
    return parse_registry(data, source=source, terms_types=terms_types())
