"""GPU model matching: the one rule every generator and the portfolio packer use.

A requested model matches a type's GPU when it appears in the model name (or the vendor name) as a
whole word, case-insensitively: 'T4' matches g4dn's 'T4' but not g5g's 'T4G'; 'A100' matches p4d.
The request is user input, so it is escaped character by character (every ASCII character that is
not a letter or digit becomes a `\\xNN` escape, which Python's `re` and polars' Rust regex both read
as that literal character): 'A100(', '[', '{0}', '%s' or '.*' match only themselves, never raise.
"""

from __future__ import annotations

import re

import polars as pl


def escaped(text: str) -> str:
    """`text` as a regex matching exactly itself, in a syntax Python's re and Rust's regex share."""
    return "".join(c if c.isalnum() or ord(c) > 127 else f"\\x{ord(c):02x}" for c in text)


def gpu_model_pattern(requested: str) -> str:
    """The whole-word, lower-case pattern for a requested model (match it against lower-cased names)."""
    return rf"(^|[^a-z0-9]){escaped(requested.strip().lower())}($|[^a-z0-9])"


def gpu_model_matches(requested: str | None, model: str | None, vendor: str | None = None) -> bool:
    """Does a GPU `model` (by `vendor`) satisfy the request? No request: any model matches."""
    if not requested:
        return True
    pattern = re.compile(gpu_model_pattern(requested))
    return any(name and pattern.search(name.lower()) for name in (model, vendor))


def gpu_model_expr(requested: str) -> pl.Expr:
    """The same rule over a frame's `gpu_model` and `gpu_vendor` columns (null-safe: no GPU, no match)."""
    pattern = gpu_model_pattern(requested)
    by_model = pl.col("gpu_model").str.to_lowercase().str.contains(pattern).fill_null(False)
    by_vendor = pl.col("gpu_vendor").str.to_lowercase().str.contains(pattern).fill_null(False)
    return by_model | by_vendor


def default_vendor_expr(vendor: str) -> pl.Expr:
    """No model named: only the default vendor's GPUs (data/facts/gpus.json default_vendor)."""
    return pl.col("gpu_vendor").fill_null("") == vendor
