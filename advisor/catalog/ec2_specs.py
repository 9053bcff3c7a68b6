"""EC2 instance specs: `data/ec2/instance_types.csv` (ec2:DescribeInstanceTypes), libcloud for the rest.

The bundled table is the source of truth for every type it lists (vCPU, memory, GPUs with model and
manufacturer, accelerators, instance store, network, EKS allocatable). Types it lacks but that AWS still
prices (older GPU and FPGA families such as p3, g3, f1) keep libcloud's price-list attributes, marked
`spec_source = libcloud`.
"""

from __future__ import annotations

import re

import polars as pl

from advisor.catalog import ec2_source, manifest

SPECS_PATH = manifest.DATA_DIR / "ec2" / "instance_types.csv"

# AWS's size names -> normalization factor ("Instance size flexibility", EC2 User Guide: nano 0.25 ...
# xlarge 8, and 8 per xlarge beyond). A metal size takes the factor of the size it mirrors.
_NAMED_FACTORS = {"nano": 0.25, "micro": 0.5, "small": 1.0, "medium": 2.0, "large": 4.0, "xlarge": 8.0}
_SIZE_ORDER = ["nano", "micro", "small", "medium", "large", "xlarge"]
_NX = re.compile(r"^(\d+)xlarge$")
_METAL_NX = re.compile(r"^metal-(\d+)xl$")
# Families whose local storage is HDD, not NVMe (EC2 User Guide, instance store volumes).
HDD_FAMILIES = ("d2", "d3", "d3en", "h1")

# DescribeInstanceTypes' GPU and accelerator names -> the names people ask for.
GPU_NAMES = {
    "h100": "H100", "h200": "H200", "b200": "B200", "b300": "B300", "a100": "A100", "a10g": "A10G",
    "l4": "L4", "l40s": "L40S", "t4": "T4", "t4g": "T4G", "v100": "V100", "radeon-pro-v520": "Radeon Pro V520",
    "rtx-pro-4500": "RTX PRO 4500 Blackwell", "rtx-pro-server-6000": "RTX PRO 6000 Blackwell Server",
    "inferentia": "Inferentia", "inferentia2": "Inferentia2", "trainium": "Trainium", "trainium2": "Trainium2",
    "qualcomm-ai100": "Qualcomm AI 100",
}
VENDOR_NAMES = {"nvidia": "NVIDIA", "amd": "AMD", "aws": "AWS", "qualcomm": "Qualcomm", "xilinx": "Xilinx"}


def normalization_factor(size: str) -> float | None:
    """AWS's normalization factor for a size name; None for a plain `metal` (decided per family)."""
    if size in _NAMED_FACTORS:
        return _NAMED_FACTORS[size]
    match = _NX.match(size) or _METAL_NX.match(size)
    return 8.0 * int(match.group(1)) if match else None


def size_rank(size: str) -> float:
    """Orders sizes within a family: nano < ... < xlarge < 2xlarge < ... < metal."""
    if size in _SIZE_ORDER:
        return float(_SIZE_ORDER.index(size))
    match = _NX.match(size)
    if match:
        return len(_SIZE_ORDER) - 1 + float(match.group(1))
    return 10_000.0


def _display(mapping: dict[str, str], column: str) -> pl.Expr:
    return pl.col(column).replace_strict(mapping, default=pl.col(column).str.to_uppercase(), return_dtype=pl.String)


def load_bundled() -> pl.DataFrame:
    """The bundled DescribeInstanceTypes table, in this project's columns and units."""
    raw = pl.read_csv(SPECS_PATH, infer_schema_length=0)
    num = {c: pl.col(c).cast(pl.Float64) for c in ("vcpu", "memory_mib", "gpu_count", "gpu_memory_mib",
                                                    "accelerator_count", "local_storage_gib", "network_mbps")}
    frame = raw.with_columns(**num)
    has_gpu = pl.col("gpu_count").fill_null(0) > 0
    has_acc = pl.col("accelerator_count").fill_null(0) > 0
    frame = frame.with_columns(
        gpus=pl.when(has_gpu).then(pl.col("gpu_count")).when(has_acc).then(pl.col("accelerator_count"))
        .otherwise(0).cast(pl.Int64),
        gpu_model=pl.when(has_gpu).then(_display(GPU_NAMES, "gpu_name"))
        .when(has_acc).then(_display(GPU_NAMES, "accelerator_name")),
        gpu_vendor=pl.when(has_gpu).then(_display(VENDOR_NAMES, "gpu_manufacturer"))
        .when(has_acc).then(_display(VENDOR_NAMES, "accelerator_manufacturer")),
        gpu_memory_gib_each=pl.when(has_gpu).then(pl.col("gpu_memory_mib") / 1024),
        accelerator_kind=pl.when(has_gpu).then(pl.lit("gpu")).when(has_acc).then(pl.lit("accelerator")),
    )
    storage = pl.col("local_storage_gib").fill_null(0.0)
    return frame.select(
        "instance_type", "family", "size",
        size_rank=pl.col("size").map_elements(size_rank, return_dtype=pl.Float64),
        vcpu=pl.col("vcpu").cast(pl.Int64),
        memory_gib=pl.col("memory_mib") / 1024,
        gpus="gpus", gpu_model="gpu_model", gpu_vendor="gpu_vendor", gpu_memory_gib_each="gpu_memory_gib_each",
        accelerator_kind="accelerator_kind",
        arch=pl.col("arch").replace_strict({"amd64": "x86_64", "arm64": "arm64"}, return_dtype=pl.String),
        processor=pl.col("cpu_manufacturer"),
        burstable=pl.col("category") == "t",
        bare_metal=pl.col("size").str.starts_with("metal"),
        instance_store_gib=storage,
        instance_store_nvme=(storage > 0) & ~pl.col("family").is_in(HDD_FAMILIES),
        network_gbps=pl.col("network_mbps") / 1000,
        normalization_factor=pl.col("size").map_elements(normalization_factor, return_dtype=pl.Float64),
        instance_category=pl.col("category"),
        generation=pl.col("generation").cast(pl.Int64, strict=False),
        eks_allocatable_vcpu=pl.col("eks_allocatable_cpu").str.strip_suffix("m").cast(pl.Float64) / 1000,
        eks_allocatable_memory_gib=pl.col("eks_allocatable_memory").str.strip_suffix("Mi").cast(pl.Float64) / 1024,
        eks_max_pods=pl.col("eks_allocatable_pods").cast(pl.Int64, strict=False),
        spec_source=pl.lit("DescribeInstanceTypes"),
    )


def _metal_factors(specs: pl.DataFrame) -> pl.DataFrame:
    """A plain `metal` size mirrors the family's largest size: its factor (or 2 per vCPU if alone)."""
    largest = (specs.filter(pl.col("normalization_factor").is_not_null())
               .group_by("family").agg(_largest=pl.col("normalization_factor").max()))
    return (specs.join(largest, on="family", how="left")
            .with_columns(normalization_factor=pl.coalesce("normalization_factor", "_largest",
                                                           pl.col("vcpu").cast(pl.Float64) * 2))
            .drop("_largest"))


def load_specs(current_generation: dict[str, bool], family_gpu: dict[str, dict]) -> pl.DataFrame:
    """Every type with specs: bundled first, libcloud's for the types the bundle lacks.

    `current_generation` is AWS's currentGeneration attribute where known (libcloud); a type absent
    from it is newer than that data and counts as current. `family_gpu` names GPU models for the
    libcloud-only families (data/facts/gpus.json).
    """
    bundled = load_bundled()
    legacy = _libcloud_only(set(bundled["instance_type"]), family_gpu)
    specs = pl.concat([bundled, legacy], how="diagonal_relaxed")
    gen = pl.DataFrame({"instance_type": list(current_generation), "_cur": list(current_generation.values())},
                       schema={"instance_type": pl.String, "_cur": pl.Boolean})
    # AWS lists previous generations by family (EC2 User Guide, "Previous generation instances"); the price
    # list's flag is per type and sometimes differs within a family (a1.metal "Yes", the other a1 sizes "No").
    return (_metal_factors(specs).join(gen, on="instance_type", how="left")
            .with_columns(current_generation=pl.col("_cur").fill_null(True).all().over("family")).drop("_cur")
            .sort("instance_type"))


def _libcloud_only(known: set[str], family_gpu: dict[str, dict]) -> pl.DataFrame:
    lc = ec2_source.load_specs().filter(~pl.col("instance_type").is_in(sorted(known)))
    gpu = pl.DataFrame([{"family": f, "gpu_model": g["model"], "gpu_vendor": g.get("vendor"),
                         "gpu_memory_gib_each": float(g["memory_gib_per_gpu"]) if g.get("memory_gib_per_gpu") else None}
                        for f, g in sorted(family_gpu.items())],
                       schema={"family": pl.String, "gpu_model": pl.String, "gpu_vendor": pl.String,
                               "gpu_memory_gib_each": pl.Float64})
    has_gpu = pl.col("gpus") > 0
    return (lc.join(gpu, on="family", how="left")
            .with_columns(gpu_model=pl.when(has_gpu).then("gpu_model"), gpu_vendor=pl.when(has_gpu).then("gpu_vendor"),
                          gpu_memory_gib_each=pl.when(has_gpu).then("gpu_memory_gib_each"),
                          accelerator_kind=pl.when(has_gpu).then(pl.lit("gpu")),
                          burstable=pl.col("family").str.contains(r"^t\d"),
                          normalization_factor=pl.col("size").map_elements(normalization_factor,
                                                                           return_dtype=pl.Float64),
                          spec_source=pl.lit("libcloud"))
            .drop("gpu_memory_text", "instance_store_disks", "instance_store_gib_each", "network_performance",
                  "current_generation", "instance_category"))
