"""Facts from `data/facts/*.json`: every value with its unit, source, as-of date and quality.

A fact file looks like::

    {"topic": "lambda", "title": "...",
     "sources": {"S1": {"title": "...", "url": "...", "as_of": "2026-09-06", "tag": "AWS"}},
     "facts": {"request_usd_per_million": {"value": 0.2, "unit": "USD per 1M requests",
                                           "source": "S1", "quality": "list"}}}

A fact carries either `value` or `by_region` (region code -> value). Quality is one of
`list` (a published price), `documented` (a documented limit or rule) or `estimate`
(derived or secondary; always labelled as such in answers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import CatalogError, FactMissing

QUALITIES = ("list", "documented", "estimate")


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str
    as_of: str
    tag: str


@dataclass(frozen=True)
class Fact:
    """One value the advice rests on, with where it came from."""

    topic: str
    name: str
    value: Any
    unit: str
    source: Source
    quality: str
    note: str | None = None
    region: str | None = None

    @property
    def key(self) -> str:
        return f"{self.topic}.{self.name}"

    @property
    def is_estimate(self) -> bool:
        return self.quality == "estimate"


@dataclass(frozen=True)
class _RawFact:
    topic: str
    name: str
    spec: dict[str, Any]
    source: Source


class FactBook:
    """All facts of all topics, looked up by `topic.name` (and region where it varies)."""

    def __init__(self, raw: dict[str, _RawFact]):
        self._raw = raw

    @classmethod
    def load(cls, facts_dir: Path) -> FactBook:
        raw: dict[str, _RawFact] = {}
        for path in sorted(facts_dir.glob("*.json")):
            raw.update(_read_topic(path))
        return cls(raw)

    def names(self) -> list[str]:
        return sorted(self._raw)

    def has(self, key: str) -> bool:
        return key in self._raw

    def regions(self, key: str) -> list[str]:
        """Regions a by-region fact has values for ([] for a global fact)."""
        return sorted(self._spec(key).spec.get("by_region", {}))

    def anchor_regions(self, key: str) -> str | None:
        """The fact naming the regions where `key` is priced as us-east-1 (`priced_as_anchor_in`), if any."""
        return self._spec(key).spec.get("priced_as_anchor_in")

    def get(self, key: str, region: str | None = None) -> Fact:
        """The fact `key`; for a by-region fact, its value in `region` or FactMissing."""
        raw = self._spec(key)
        spec = raw.spec
        if "by_region" in spec:
            if region is None:
                raise FactMissing(f"fact {key} varies by region: name a region")
            if region not in spec["by_region"]:
                raise FactMissing(f"fact {key} has no value for region {region}")
            value, where = spec["by_region"][region], region
        else:
            value, where = spec["value"], None
        return Fact(raw.topic, raw.name, value, spec.get("unit", ""), raw.source,
                    spec["quality"], spec.get("note"), where)

    def value(self, key: str, region: str | None = None) -> Any:
        return self.get(key, region).value

    def _spec(self, key: str) -> _RawFact:
        try:
            return self._raw[key]
        except KeyError:
            raise FactMissing(f"no fact named {key} in data/facts") from None

    def as_of(self) -> str:
        """The newest as-of date over every source used by a fact."""
        return max(r.source.as_of for r in self._raw.values())


def _read_topic(path: Path) -> dict[str, _RawFact]:
    try:
        doc = json.loads(path.read_text())
        topic = doc["topic"]
        sources = {sid: Source(sid, s["title"], s.get("url", ""), s["as_of"], s.get("tag", ""))
                   for sid, s in doc["sources"].items()}
        out: dict[str, _RawFact] = {}
        for name, spec in doc["facts"].items():
            if ("value" in spec) == ("by_region" in spec):
                raise CatalogError(f"{path.name}: fact {name} needs exactly one of value / by_region")
            if spec.get("quality") not in QUALITIES:
                raise CatalogError(f"{path.name}: fact {name} has quality {spec.get('quality')!r}")
            if spec.get("source") not in sources:
                raise CatalogError(f"{path.name}: fact {name} names unknown source {spec.get('source')!r}")
            out[f"{topic}.{name}"] = _RawFact(topic, name, spec, sources[spec["source"]])
        return out
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path.name}: malformed fact file ({exc})") from exc
