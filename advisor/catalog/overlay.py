"""Imported facts, kept beside the bundled ones: each import is one parquet file plus its metadata.

Imports live under `$ADVISOR_HOME/imports` (default `~/.local/share/aws-advisor/imports`), never in
the repository, so a fresh clone answers from the bundled data and a refreshed machine from the
newer facts, each answer naming the catalog version it used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl


def advisor_home() -> Path:
    return Path(os.environ.get("ADVISOR_HOME", Path.home() / ".local" / "share" / "aws-advisor"))


def imports_dir() -> Path:
    return advisor_home() / "imports"


PIN_VARIABLE = "ADVISOR_CATALOG_VERSION"


def check_pin(version: str) -> None:
    """A process that pinned a catalog version refuses any other (an import elsewhere under the same
    ADVISOR_HOME changes it), rather than quietly answering from other prices."""
    from advisor.errors import CatalogError

    pinned = os.environ.get(PIN_VARIABLE, "").strip()
    if pinned and pinned != version:
        raise CatalogError(f"{PIN_VARIABLE}={pinned} but the catalog under {advisor_home()} is version {version} "
                           f"(imports changed it): unset {PIN_VARIABLE}, or use the ADVISOR_HOME that has it")


@dataclass(frozen=True)
class StoredImport:
    kind: str
    published: str
    source: str
    path: Path

    def frame(self) -> pl.DataFrame:
        return pl.read_parquet(self.path)


def save(kind: str, frame: pl.DataFrame, published: str, source: str) -> StoredImport:
    """Store one imported batch; importing the same content twice stores it once."""
    folder = imports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(
        frame.write_csv().encode() + f"{kind}|{published}|{source}".encode()).hexdigest()[:16]
    stem = f"{published}-{kind}-{digest}"
    path = folder / f"{stem}.parquet"
    frame.write_parquet(path)
    (folder / f"{stem}.json").write_text(
        json.dumps({"kind": kind, "published": published, "source": source, "rows": frame.height},
                   sort_keys=True))
    return StoredImport(kind, published, source, path)


def stored() -> list[StoredImport]:
    """Every stored import, oldest publication first (later ones override earlier ones)."""
    folder = imports_dir()
    if not folder.is_dir():
        return []
    out = []
    for meta_path in sorted(folder.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        path = meta_path.with_suffix(".parquet")
        if path.exists():
            out.append(StoredImport(meta["kind"], meta["published"], meta["source"], path))
    return sorted(out, key=lambda s: (s.published, s.path.name))


def fingerprint() -> str:
    """A hash of every stored import's content (part of the catalog version)."""
    digest = hashlib.sha256()
    for item in stored():
        digest.update(item.path.name.encode())
        digest.update(item.path.read_bytes())
    return digest.hexdigest()


def clear() -> int:
    """Remove every stored import; returns how many were removed."""
    items = stored()
    for item in items:
        item.path.unlink()
        item.path.with_suffix(".json").unlink()
    return len(items)
