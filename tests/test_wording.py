"""Answers a person reads without a glossary: money, rounding, labels that tell options apart, what runs for every
option, folded twins, top_k honoured, no empty tables (the terminal rendering and the shared wording)."""

from __future__ import annotations

import pytest
from rich.console import Console

from advisor import wording
from advisor.recommend import recommend
from advisor.render import recommendation
from models.workload import Workload


def text_of(renderable) -> str:
    console = Console(record=True, width=400, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.fixture(scope="module")
def broad():
    """A workload every service can run (requests, jobs, interruptible): many options, twins and arm64/x86 pairs."""
    w = Workload(id="broad", vcpu=1, memory_gib=2, requests_per_month=5_000_000, avg_duration_ms=120,
                 jobs_per_month=100, job_duration_minutes=15.0166666667, interruptible=True)
    return recommend(w, top_k=100)


def test_money_and_numbers_for_people():
    assert wording.usd(-181.64) == "-$181.64"
    assert wording.usd(1234.5) == "$1,234.50"
    assert wording.usd(None) == "—"
    price = "at $0.0000166667/GB-s"
    assert wording.tidy(f"100 jobs x 15.01666667 min {price}") == f"100 jobs x 15.02 min {price}"
    assert wording.tidy("0.0416666667 h") == "0.0417 h"
    assert wording.saving_sentence(-181.64) == "costs $181.64 a month more"
    assert wording.saving_sentence(106.17) == "saves $106.17 a month"


def test_every_option_says_what_runs_and_labels_tell_options_apart(broad):
    options = [broad.choice, *broad.alternatives]
    assert all(wording.what_runs(o) for o in options), [o.service for o in options if not wording.what_runs(o)]
    fargate_spot_batch = [o for o in options if o.service == "batch" and o.config.get("compute_environment")
                          == "FARGATE_SPOT"]
    assert fargate_spot_batch and all("Fargate Spot" in wording.what_runs(o) for o in fargate_spot_batch)
    rows = wording.fold(options)
    labels = [r.label for r in rows]
    assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]
    fargate = [r.label for r in rows if r.option.service == "ecs_fargate" and r.option.purchase_option == "spot"]
    assert any("arm64" in x for x in fargate) and any("x86" in x for x in fargate)


def test_twins_fold_into_one_row_with_a_note(broad):
    options = [broad.choice, *broad.alternatives]
    rows = wording.fold(options)
    assert sum(1 + len(r.twins) for r in rows) == len(options)  # nothing lost
    folded = [r for r in rows if r.twins]
    assert folded, "the estimate ratios make reserved and savings-plan prices equal: there are twins"
    for r in folded:
        for t in r.twins:
            assert (t.monthly_usd, t.upfront_usd, t.service, t.instance_type) == (
                r.option.monthly_usd, r.option.upfront_usd, r.option.service, r.option.instance_type)
            assert wording.purchase(t) in r.note


@pytest.mark.parametrize("top_k", [0, 1, 3])
def test_top_k_is_honoured(broad, top_k):
    shown = wording.alternatives(broad.choice, broad.alternatives, top_k)
    assert len(shown.top) == top_k
    services = [r.option.service for r in shown.other_services]
    assert len(services) == len(set(services)) and broad.choice.service not in services
    listed = sum(1 + len(r.twins) for r in [*shown.top, *shown.other_services]) + len(shown.choice.twins)
    assert listed + shown.hidden == len(broad.alternatives)
    text = text_of(recommendation(broad, top_k=top_k))
    if top_k:
        table = text.split(f"alternatives, best first (top {top_k})")[1].split("the best of each other service")[0]
        assert sum(line.startswith("│ ") and "$" in line for line in table.splitlines()) == top_k
    else:
        assert "alternatives, best first" not in text


def test_no_empty_tables_and_no_empty_alternatives_when_nothing_fits():
    rec = recommend(Workload(id="tiny-budget", vcpu=64, memory_gib=256, max_monthly_usd=1))
    assert rec.choice is None
    text = text_of(recommendation(rec))
    assert "no placement meets every hard requirement (over_budget: see rejected)" in text
    assert "alternatives" not in text
    assert "rejected" in text


def test_terminal_answer_reads_without_library_or_aws_voice(broad):
    text = text_of(recommendation(broad, top_k=3))
    assert "We do not have" not in text  # AWS's own words only as a quote
    assert "AWS no longer sells Scheduled Instances" in text
    assert "15.01666667" not in text
    assert "$-" not in text
