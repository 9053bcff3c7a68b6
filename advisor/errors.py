"""The core's error types: one family, mapped once at each door (CLI exit codes, HTTP status)."""

from __future__ import annotations


class AdvisorError(Exception):
    """Base of every error the core raises on purpose."""


class CatalogError(AdvisorError):
    """A fact the advice needs is missing or malformed (never answered with a made-up number)."""


class FactMissing(CatalogError):
    """A named fact, or a price for a type/region/os, is not in the catalog."""


class ImportFormatError(CatalogError):
    """A file given to `catalog import` is not in a format we read."""


class InputError(AdvisorError):
    """User input is invalid; `field` names what to fix."""

    def __init__(self, message: str, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.field = field
        self.row = row
