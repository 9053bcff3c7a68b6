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


def _describe(path: Path, data_dir: Path) -> dict:
    entry: dict = {"path": path.relative_to(data_dir).as_posix(), "sha256": sha256_file(path)}
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and "sources" in doc:
            entry["topic"] = doc.get("topic")
            entry["sources"] = sorted(
                {f"{s['title']} ({s.get('url', '')})" for s in doc["sources"].values()})
            entry["as_of"] = max(s["as_of"] for s in doc["sources"].values())
    return entry


def data_files(data_dir: Path) -> list[Path]:
    """Every fact file under data/ (examples are inputs, not facts, and are left out)."""
    return sorted(p for p in data_dir.rglob("*.json")
                  if p.name != MANIFEST and "examples" not in p.parts)


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
