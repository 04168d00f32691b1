"""The raw store: every fetched body, content-addressed by SHA-256.

Layout: `<root>/sha256/<2 hex>/<2 hex>/<64 hex>`. A blob is written to a
temporary file in `<root>/partial/` (the same file system), flushed to disk,
then renamed into place, so a killed process never leaves a partial blob
under its final name, and the leftovers of a killed writer are found in one
folder, without walking the store. Paths are built from the hash alone,
never from URLs or registry names.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class RawStoreError(Exception):
    """A blob is missing, altered, or a hash is malformed."""


@dataclass(frozen=True, slots=True)
class BlobCheck:
    sha256: str
    status: str  # ok | missing | altered
    detail: str | None = None


class RawStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def partial_dir(self) -> Path:
        """Where blobs are written before they are renamed into place."""
        return self.root / "partial"

    def path_for(self, sha256: str) -> Path:
        if not HEX64.match(sha256):
            raise RawStoreError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def put(self, body: bytes) -> str:
        """Store `body` (if not already held) and return its SHA-256."""
        sha = hashlib.sha256(body).hexdigest()
        final = self.path_for(sha)
        if final.exists() and final.stat().st_size == len(body):
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.partial_dir, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def get(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        try:
            body = path.read_bytes()
        except FileNotFoundError as err:
            raise RawStoreError(f"blob {sha256} is missing from {self.root}") from err
        if hashlib.sha256(body).hexdigest() != sha256:
            raise RawStoreError(f"blob {sha256} in {self.root} does not match its hash")
        return body

    def check(self, sha256: str) -> BlobCheck:
        path = self.path_for(sha256)
        if not path.exists():
            return BlobCheck(sha256, "missing")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != sha256:
            return BlobCheck(sha256, "altered", f"content hashes to {actual}")
        return BlobCheck(sha256, "ok")

    def __iter__(self) -> Iterator[str]:
        base = self.root / "sha256"
        if base.exists():
            for path in sorted(base.glob("??/??/*")):
                if HEX64.match(path.name):
                    yield path.name

    def remove_partials(self) -> int:
        """Delete temporary files left by a killed writer; returns how many."""
        count = 0
        if self.partial_dir.is_dir():
            for path in self.partial_dir.glob(".partial-*"):
                path.unlink(missing_ok=True)
                count += 1
        return count
