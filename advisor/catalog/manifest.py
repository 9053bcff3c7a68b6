"""`data/manifest.json`: every data file with its sources, as-of date and checksum.

The manifest is written by `python -m advisor.catalog.manifest` after a data file changes, and
checked on load: a file whose checksum differs from the manifest is refused, so nobody edits a
price without its provenance being re-stated.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from advisor.errors import CatalogError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


PROVENANCE = "provenance.json"


def _sources(sources: list[dict]) -> dict:
    return {"sources": sorted({f"{s['title']} ({s.get('url', '')})" for s in sources}),
            "as_of": max(s["as_of"] for s in sources)}


def _describe(path: Path, data_dir: Path) -> dict:
    entry: dict = {"path": path.relative_to(data_dir).as_posix(), "sha256": sha256_file(path)}
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and "sources" in doc:
            entry["topic"] = doc.get("topic")
            entry.update(_sources(list(doc["sources"].values())))
    else:
        entry.update(_table_sources(path))
    return entry


def _table_sources(path: Path) -> dict:
    """A table's sources, from the `provenance.json` beside it (`files`: table name -> source id)."""
    prov_path = path.parent / PROVENANCE
    if not prov_path.exists():
        raise CatalogError(f"{path} has no {PROVENANCE} beside it naming its source and as-of date")
    prov = json.loads(prov_path.read_text())
    source_id = prov.get("files", {}).get(path.name)
    if source_id not in prov.get("sources", {}):
        raise CatalogError(f"{prov_path} names no source for {path.name}")
    return {"topic": prov.get("topic"), **_sources([prov["sources"][source_id]])}


def provenance(folder: Path) -> dict:
    """A table folder's `provenance.json` (its sources with as-of dates, and which file each source made)."""
    return json.loads((folder / PROVENANCE).read_text())


def data_files(data_dir: Path) -> list[Path]:
    """Every fact file under data/: JSON facts and CSV tables (examples are inputs, not facts: left out)."""
    return sorted(p for p in data_dir.rglob("*") if p.suffix in (".json", ".csv")
                  and p.name != MANIFEST and "examples" not in p.parts)


def build(data_dir: Path = DATA_DIR) -> dict:
    files = [_describe(p, data_dir) for p in data_files(data_dir)]
    return {"files": files}


def write(data_dir: Path = DATA_DIR) -> Path:
    path = data_dir / MANIFEST
    path.write_text(json.dumps(build(data_dir), indent=2, sort_keys=True) + "\n")
    return path


def check(data_dir: Path = DATA_DIR) -> dict:
    """The manifest, after verifying that it lists exactly the data files with their checksums."""
    path = data_dir / MANIFEST
    if not path.exists():
        raise CatalogError(f"{path} is missing: run python -m advisor.catalog.manifest")
    manifest = json.loads(path.read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    present = {p.relative_to(data_dir).as_posix(): p for p in data_files(data_dir)}
    if set(listed) != set(present):
        raise CatalogError(
            f"data/ and its manifest disagree: unlisted {sorted(set(present) - set(listed))}, "
            f"missing {sorted(set(listed) - set(present))}; run python -m advisor.catalog.manifest")
    for rel, p in present.items():
        if sha256_file(p) != listed[rel]["sha256"]:
            raise CatalogError(f"data/{rel} changed since the manifest was written; "
                               "re-state its sources and run python -m advisor.catalog.manifest")
    return manifest


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR)}")
