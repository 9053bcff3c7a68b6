"""The catalog: EC2 specs and prices (data/ec2, derived by rule; libcloud as fallback), imports and facts, versioned.

Compiling the EC2 tables takes a few hundred milliseconds; the result is cached as Parquet under
`$ADVISOR_HOME/cache/<version>/`, keyed by a hash of every source, so a warm load only reads
Parquet. The version is that hash: every answer names it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from advisor.catalog import ec2_prices, ec2_source, ec2_specs, manifest, overlay, repair
from advisor.catalog.facts import FactBook

# Bump when the compiled tables change shape or meaning; the compiling modules' own source is hashed
# into the version too, so an edited repair rule never reads a stale cache.
COMPILER_VERSION = "2"

FACTS_DIR = manifest.DATA_DIR / "facts"

_SPOT_SCHEMA = {
    "instance_type": pl.String, "region": pl.String, "os": pl.String,
    "savings_pct": pl.Int64, "interruption_index": pl.Int64, "interruption_label": pl.String,
    "interruption_max_pct": pl.Int64, "spot_usd_per_hour": pl.Float64, "zones": pl.Int64,
    "published": pl.String, "source": pl.String,
}
_PRICE_SCHEMA = {
    "instance_type": pl.String, "region": pl.String, "os": pl.String, "tenancy": pl.String,
    "purchase_option": pl.String, "term": pl.String, "offering_class": pl.String,
    "payment": pl.String, "upfront_usd": pl.Float64, "usd_per_hour": pl.Float64,
    "published": pl.String, "source": pl.String,
}


@dataclass(frozen=True)
class SourceInfo:
    name: str
    as_of: str
    detail: str


@dataclass(frozen=True)
class Catalog:
    """Everything the advice rests on. Immutable; loaded once per process and version."""

    version: str
    as_of: str
    specs: pl.DataFrame
    on_demand: pl.DataFrame
    imported_prices: pl.DataFrame
    spot: pl.DataFrame
    facts: FactBook
    sources: tuple[SourceInfo, ...] = field(default_factory=tuple)

    def regions(self) -> list[str]:
        return sorted(self.on_demand["region"].unique().to_list())


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def compute_version() -> str:
    """Content hash of every source the catalog is built from (libcloud, data/, imports, compiler)."""
    manifest.check()
    parts = [COMPILER_VERSION.encode(), ec2_source.libcloud_version().encode()]
    parts += [Path(m.__file__).read_bytes() for m in (ec2_source, ec2_specs, ec2_prices, repair, sys.modules[__name__])]
    parts += [p.read_bytes() for p in ec2_source.source_files()]
    parts.append((manifest.DATA_DIR / manifest.MANIFEST).read_bytes())
    parts.append(overlay.fingerprint().encode())
    return _digest(parts)[:16]


def _cache_dir(version: str) -> Path:
    return overlay.advisor_home() / "cache" / version


_TABLES = ("specs", "on_demand", "imported_prices", "spot")
_lock = threading.Lock()
_loaded: dict[str, Catalog] = {}


def load_catalog() -> Catalog:
    """The current catalog (cached in memory per version, and on disk as Parquet); refuses any version other
    than ADVISOR_CATALOG_VERSION when that is set."""
    version = compute_version()
    overlay.check_pin(version)
    with _lock:
        if version not in _loaded:
            _loaded[version] = _load(version)
        return _loaded[version]


def _load(version: str) -> Catalog:
    facts = FactBook.load(FACTS_DIR)
    folder = _cache_dir(version)
    if all((folder / f"{t}.parquet").exists() for t in _TABLES) and (folder / "meta.json").exists():
        tables = {t: pl.read_parquet(folder / f"{t}.parquet") for t in _TABLES}
        meta = json.loads((folder / "meta.json").read_text())
    else:
        tables, meta = _compile(facts)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            tmp = folder / f"{name}.parquet.tmp"
            frame.write_parquet(tmp)
            tmp.replace(folder / f"{name}.parquet")
        (folder / "meta.json").write_text(json.dumps(meta, sort_keys=True))
    sources = tuple(SourceInfo(**s) for s in meta["sources"])
    return Catalog(version=version, as_of=meta["as_of"], facts=facts, sources=sources, **tables)


def _compile(facts: FactBook) -> tuple[dict[str, pl.DataFrame], dict]:
    specs = _with_fact_columns(ec2_specs.load_specs(ec2_source.current_generation(),
                                                    facts.value("gpus.family_gpu")), facts)
    provenance = manifest.provenance(manifest.DATA_DIR / "ec2")
    list_as_of = provenance["sources"]["PRICES"]["as_of"]
    on_demand = ec2_prices.build(specs, facts, list_as_of)
    imported = [(item, item.frame()) for item in overlay.stored()]
    prices = pl.concat([f for i, f in imported if i.kind == "prices"] or [pl.DataFrame(schema=_PRICE_SCHEMA)],
                       how="diagonal_relaxed")
    on_demand = _apply_imported_on_demand(on_demand, prices)
    spot = _merge_spot([(i, f) for i, f in imported if i.kind in ("spot_advisor", "spot_history")])
    sources = [
        {"name": "EC2 us-east-1 Linux on-demand list prices", "as_of": list_as_of,
         "detail": provenance["sources"]["PRICES"]["title"]},
        {"name": "EC2 instance specs (DescribeInstanceTypes)", "as_of": provenance["sources"]["SPECS"]["as_of"],
         "detail": provenance["sources"]["SPECS"]["title"]},
        {"name": "apache-libcloud price list (regional ratios, fallback)", "as_of": ec2_source.pricing_updated(),
         "detail": f"apache-libcloud {ec2_source.libcloud_version()}: data/pricing.json, "
                   "compute/constants/ec2_instance_types.py; other regions' prices are the us-east-1 list x each "
                   "type's own ratio there; repaired where needed (see catalog check)"},
        {"name": "data/ facts", "as_of": facts.as_of(),
         "detail": "data/manifest.json lists each file's sources (OS licence fees: data/facts/os_licensing.json)"},
    ] + [{"name": f"imported {i.kind}", "as_of": i.published, "detail": i.source} for i, _ in imported]
    newest_import = max((i.published for i, f in imported if i.kind == "prices"), default=None)
    as_of = max(filter(None, [list_as_of, newest_import]))
    tables = {"specs": specs, "on_demand": on_demand,
              "imported_prices": prices.sort(list(_PRICE_SCHEMA)), "spot": spot}
    return tables, {"as_of": as_of, "sources": sources}


def _with_fact_columns(specs: pl.DataFrame, facts: FactBook) -> pl.DataFrame:
    """Add the burstable baseline, which neither spec source carries, from data/ facts."""
    baseline = facts.value("burstable.baseline_per_vcpu")
    base_frame = pl.DataFrame({"instance_type": sorted(baseline),
                               "baseline_cpu_share": [float(baseline[k]) for k in sorted(baseline)]},
                              schema={"instance_type": pl.String, "baseline_cpu_share": pl.Float64})
    return specs.join(base_frame, on="instance_type", how="left").sort("instance_type")


def _apply_imported_on_demand(on_demand: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame:
    """An imported shared-tenancy on-demand price replaces the bundled one (newest publication wins)."""
    key = ["instance_type", "region", "os"]
    latest = prices.filter((pl.col("purchase_option") == "on_demand") & (pl.col("tenancy") == "shared")
                           & (pl.col("usd_per_hour") > 0))
    latest = (_latest(latest, key).select(*key, _imp_price=pl.col("usd_per_hour"), _imp_source=pl.col("source"),
                      _imp_published=pl.col("published")))
    merged = on_demand.join(latest, on=key, how="full", coalesce=True)
    has = pl.col("_imp_price").is_not_null()
    return (merged.with_columns(
        usd_per_hour=pl.when(has).then(pl.col("_imp_price")).otherwise(pl.col("usd_per_hour")),
        # an imported licence-included price keeps the rule's fee split (the fee is the same published figure)
        licence_usd_per_hour=pl.col("licence_usd_per_hour").fill_null(0.0),
        price_quality=pl.when(has).then(pl.lit("imported")).otherwise(pl.col("price_quality")),
        repair_rule=pl.when(has).then(pl.lit(None, pl.String)).otherwise(pl.col("repair_rule")),
        basis=pl.when(has).then(pl.lit("imported AWS price file (replaces the bundled figure)"))
        .otherwise(pl.col("basis")),
        source=pl.when(has).then(pl.col("_imp_source")).otherwise(pl.col("source")),
        published=pl.when(has).then(pl.col("_imp_published")).otherwise(pl.col("published")),
    ).drop("_imp_price", "_imp_source", "_imp_published").sort(key))


def _merge_spot(imports: list) -> pl.DataFrame:
    """One row per (type, region, os): advisor savings and interruption bucket, history price."""
    key = ["instance_type", "region", "os"]
    advisor = [f for i, f in imports if i.kind == "spot_advisor"]
    history = [f for i, f in imports if i.kind == "spot_history"]
    empty = pl.DataFrame(schema=_SPOT_SCHEMA)
    out = empty
    if advisor:
        out = pl.concat([out, _latest(pl.concat(advisor, how="diagonal_relaxed"), key)], how="diagonal_relaxed")
    if history:
        hist = (_latest(pl.concat(history, how="diagonal_relaxed"), key)
                .select(*key, spot_usd_per_hour=pl.col("usd_per_hour"), zones=pl.col("zones"),
                        _h_published=pl.col("published"), _h_source=pl.col("source")))
        out = (out.drop("spot_usd_per_hour", "zones").join(hist, on=key, how="full", coalesce=True)
               .with_columns(published=pl.coalesce("published", "_h_published"),
                             source=pl.coalesce("source", "_h_source"))
               .drop("_h_published", "_h_source"))
    return out.select(list(_SPOT_SCHEMA)).cast(_SPOT_SCHEMA).sort(key)


def _latest(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The newest publication's row per key (a stable sort keeps import order among equals)."""
    return frame.sort("published", maintain_order=True).group_by(key, maintain_order=True).agg(pl.all().last())
