"""`clausetrail verify`: re-hash every blob the warehouse points to."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import duckdb

from warehouse.queries import recorded_blobs
from warehouse.rawstore import RawStore


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checked: int
    missing: tuple[str, ...]
    altered: tuple[str, ...]
    digest_mismatch: tuple[str, ...]
    unreferenced: int  # blobs in the store no capture points to (harmless)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.digest_mismatch)


def verify_store(con: duckdb.DuckDBPyConnection, store: RawStore) -> VerifyReport:
    missing, altered, mismatch = [], [], []
    blobs = recorded_blobs(con)
    for sha, digest in blobs:
        path = store.path_for(sha)
        if not path.exists():
            missing.append(sha)
            continue
        body = path.read_bytes()
        if hashlib.sha256(body).hexdigest() != sha:
            altered.append(sha)
            continue
        if digest and base64.b32encode(hashlib.sha1(body).digest()).decode() != digest:
            mismatch.append(sha)
    referenced = {sha for sha, _ in blobs}
    unreferenced = sum(1 for sha in store if sha not in referenced)
    return VerifyReport(len(blobs), tuple(missing), tuple(altered), tuple(mismatch), unreferenced)
