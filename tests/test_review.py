"""The architecture review: what-ifs equal separate recommend() runs, the form, the charts, the page routes
(GET/POST /review, POST /review/upload) and the offline report (`advisor report`, HTML and Markdown)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from advisor.recommend import recommend
from advisor.review import charts, form, render
from advisor.review.report import write_report
from advisor.review.whatif import relaxations, what_ifs
from api.app import create_app
from api.settings import Settings
from models.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"

# A workload that states many constraints, so most what-ifs are exercised at once.
CONSTRAINED = {
    "id": "ledger", "vcpu": 2, "memory_gib": 8, "replicas": 2, "horizon_months": 24, "tenancy": "dedicated",
    "arch": "x86_64", "capacity_guarantee": True, "max_monthly_usd": 9000, "max_upfront_usd": 50000,
    "allowed_services": ["ec2", "ecs_ec2", "ecs_fargate"], "orchestrator": "ecs", "ops": "managed",
}

SMALL_CSV = (
    b"id,team,vcpu,memory_gib,replicas,requests_per_month,avg_duration_ms,horizon_months\n"
    b"web-1,web,2,8,2,,,36\n"
    b"fn-1,payments,,,,5000000,120,\n"
    b"bad-1,data,two,8,1,,,\n"
    b"batch-1,data,4,16,1,,,12\n"
)


# --- what-if -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def constrained(catalog):
    w = Workload.model_validate(CONSTRAINED)
    rec = recommend(w, catalog=catalog)
    return w, rec, what_ifs(w, rec, catalog=catalog)


def test_what_ifs_cover_every_stated_constraint(constrained):
    w, _rec, ifs = constrained
    keys = [x.key for x in ifs]
    assert keys == [r.key for r in relaxations(w)]
    for key in ("tenancy", "interruptible", "capacity_guarantee", "arch", "orchestrator", "allowed_services",
                "max_monthly_usd", "max_upfront_usd", "ops", "horizon_12", "horizon_36"):
        assert key in keys
    # nothing the workload does not state is relaxed
    plain = relaxations(Workload(id="plain", vcpu=1, memory_gib=2, interruptible=True, horizon_months=12))
    assert [r.key for r in plain] == ["horizon_36"]


def test_what_if_figures_equal_separate_recommend_runs(constrained, catalog):
    """Each figure is exactly what recommend() answers for the workload with that constraint removed by hand."""
    _w, rec, ifs = constrained
    by_hand = {
        "tenancy": {"tenancy": "shared"},
        "interruptible": {"interruptible": True},
        "capacity_guarantee": {"capacity_guarantee": False},
        "arch": {"arch": "any"},
        "orchestrator": {"orchestrator": "none"},
        "allowed_services": {"allowed_services": None},
        "max_monthly_usd": {"max_monthly_usd": None},
        "max_upfront_usd": {"max_upfront_usd": None},
        "ops": {"ops": "balanced"},
        "horizon_12": {"horizon_months": 12},
        "horizon_36": {"horizon_months": 36},
    }
    assert {x.key for x in ifs} == set(by_hand)
    for x in ifs:
        alone = recommend(Workload.model_validate({**CONSTRAINED, **by_hand[x.key]}), catalog=catalog)
        assert x.monthly_usd == alone.choice.monthly_usd, x.key
        assert x.upfront_usd == alone.choice.upfront_usd, x.key
        assert x.stated_monthly_usd == rec.choice.monthly_usd
        assert x.saving_usd == round(rec.choice.monthly_usd - alone.choice.monthly_usd, 2)
    tenancy = next(x for x in ifs if x.key == "tenancy")
    assert tenancy.saving_usd > 0  # dedicated tenancy costs the $2/h regional fee at least
    assert tenancy.sentence.startswith(f"Requiring dedicated tenancy costs ${tenancy.saving_usd:,.2f} a month")
    interrupt = next(x for x in ifs if x.key == "interruptible")
    assert "tolerating interruptions" in interrupt.sentence


def test_what_if_makes_an_infeasible_workload_feasible(catalog):
    w = Workload(id="tight", vcpu=4, memory_gib=16, replicas=2, max_monthly_usd=20)
    rec = recommend(w, catalog=catalog)
    assert rec.choice is None
    cap = next(x for x in what_ifs(w, rec, catalog=catalog) if x.key == "max_monthly_usd")
    assert cap.monthly_usd == recommend(Workload(id="t", vcpu=4, memory_gib=16, replicas=2),
                                        catalog=catalog).choice.monthly_usd
    assert cap.sentence.startswith("Nothing meets every requirement as stated; dropping the monthly cap")


def test_stateful_workload_relaxes_state_with_interruptions():
    w = Workload(id="db", vcpu=2, memory_gib=8, stateful=True)
    by_key = {r.key: r for r in relaxations(w)}
    assert by_key["interruptible"].changes == {"interruptible": True, "stateful": False}
    assert by_key["stateful"].changes == {"stateful": False}


# --- form ----------------------------------------------------------------------------------------------------

def test_form_offers_every_contract_field_with_help():
    assert set(form.FIELDS) == set(Workload.model_fields)
    assert all(f.help and f.label for f in form.FIELDS.values())
    assert form.FIELDS["horizon_months"].default == "12"
    assert form.FIELDS["region"].default == "us-east-1"
    assert form.FIELDS["interruptible"].default == ""


def test_form_defaults_parse_to_the_example_workload():
    parsed = form.parse(form.defaults())
    assert parsed.errors == {}
    assert parsed.workload == Workload(**{k: v for k, v in form.EXAMPLE_VALUES.items()})
    assert parsed.workload.allowed_services is None  # every service ticked means no restriction


def test_form_errors_name_each_field():
    values = {**form.defaults(), "vcpu": "-1", "replicas": "2.5", "region": "mars-1", "allowed_services": [],
              "top_k": "x"}
    parsed = form.parse(values, regions=["us-east-1", "eu-west-1"])
    assert parsed.workload is None
    assert set(parsed.errors) == {"vcpu", "replicas", "region", "allowed_services", "top_k"}
    assert parsed.errors["vcpu"] == ["must be greater than 0"]
    cross = form.parse({**form.defaults(), "requests_per_month": "100"})
    assert "requests_per_month" in cross.errors


# --- charts --------------------------------------------------------------------------------------------------

def test_pareto_front_and_categories():
    assert charts.pareto_front([(10, 2), (20, 0), (15, 2), (30, 1), (10, 2)]) == [0, 1, 4]
    assert charts.category("EBS gp3 (storage_gib) 20 GiB x3") == "storage"
    assert charts.category("data transfer out 300 GiB") == "data transfer"
    assert charts.category("public IPv4 x3 x $0.005/h x 730 h") == "public IPv4"
    assert charts.category("EKS control plane (standard support) $0.1/h x 730 h") == "control plane"
    assert charts.category("dedicated per-region fee $2/h") == "fees and surcharges"
    assert charts.category("m6g.large on-demand x3: $0.077/h x 730 h") == "compute"
    assert charts.risk_rank("none") < charts.risk_rank("<5%") < charts.risk_rank("5-10% (estimate)") \
        < charts.risk_rank(">20%")


def test_charts_are_svg_with_unique_ids(constrained, catalog):
    _w, rec, ifs = constrained
    options = [rec.choice, *rec.alternatives]
    spot = recommend(Workload(id="spot", vcpu=2, memory_gib=8, interruptible=True), catalog=catalog)
    varied = [spot.choice, *spot.alternatives]  # risk and operations effort vary: both trade-off charts drawn
    drawn = [charts.cost_by_option(options), charts.cost_vs_risk(varied), charts.cost_vs_ops(varied),
             charts.what_if_chart(rec.choice.monthly_usd, [x.as_dict() for x in ifs]),
             charts.cost_by_service({"ec2": {"rows": 2, "monthly_usd": 10.0}}),
             charts.packed_nodes([{"label": "eks", "nodes": 3, "replicas": 7}])]
    ids: list[str] = []
    for c in drawn:
        assert c is not None and c.svg.lstrip().startswith("<?xml") and "</svg>" in c.svg
        assert c.inline.startswith("<svg") and 'role="img"' in c.inline and "aria-label=" in c.inline
        ids += re.findall(r'\sid="([^"]+)"', c.inline)
    assert len(ids) == len(set(ids)), "charts inlined on one page must not share an id"
    assert charts.cost_by_option([]) is None


def test_a_flat_chart_is_not_drawn(constrained, catalog):
    """Interruption risk: no option of a non-interruptible workload has any, so the chart would say nothing."""
    _w, rec, _ifs = constrained
    options = [rec.choice, *rec.alternatives]
    assert {o.interruption_risk for o in options} == {"none"}
    assert charts.cost_vs_risk(options) is None
    spot = recommend(Workload(id="spot", vcpu=2, memory_gib=8, interruptible=True), catalog=catalog)
    varied = [spot.choice, *spot.alternatives]
    assert len({o.interruption_risk for o in varied}) > 1
    assert charts.cost_vs_risk(varied) is not None


def test_money_ticks_are_short_and_few():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    assert [charts.money_tick(v) for v in (0, 750, 1500, 1750, 12_000, 1_250_000, -181.64)] == \
        ["$0", "$750", "$1.5k", "$1.75k", "$12k", "$1.25M", "-$182"]
    for high in (2_000, 2_345.67, 87_654, 3.2e6):
        fig = Figure(figsize=(4.0, 2.0))
        ax = fig.add_subplot()
        ax.set_xlim(0, high)
        charts._money_axis(ax)
        fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
        ticks = [t for t in ax.get_xticks() if 0 <= t <= high]
        labels = [charts.money_tick(t) for t in ticks]
        assert 2 <= len(ticks) <= 6 and all(len(x) <= 6 for x in labels), labels


# --- the page ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(evaluation_executor="thread", solver_executor="thread", warm_up=False)
    with TestClient(create_app(settings)) as c:
        yield c


class Page(HTMLParser):
    """Collects ids, labels' targets, inputs' names and every src/href of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("input", "select") and a.get("name") and a.get("id"):
            self.inputs[a["id"]] = a
        for key in ("src", "href"):
            if a.get(key):
                self.links.append(a[key])


def test_review_form_has_every_field_labelled(client):
    r = client.get("/review")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    for name, f in form.FIELDS.items():
        assert f"f-{name}" in page.inputs, name
        if f.kind != "services":
            assert f"f-{name}" in page.label_for, f"{name} has a label"
        assert f'id="h-{name}"' in r.text, f"{name} has help text"
    assert 'action="/review/upload"' in r.text and 'type="file"' in r.text
    assert not [u for u in page.links if u.startswith(("http://", "https://", "//"))]
    assert "<script" not in r.text
    assert client.get("/").json()["links"]["review"] == "/review"


def test_review_post_shows_the_whole_answer(client, catalog):
    data = {**form.defaults(), **{k: str(v) for k, v in CONSTRAINED.items() if k != "allowed_services"},
            "allowed_services": CONSTRAINED["allowed_services"]}
    r = client.post("/review", data=data)
    assert r.status_code == 200, r.text[:500]
    rec = recommend(Workload.model_validate(CONSTRAINED), catalog=catalog)
    text = r.text
    assert render.usd(rec.choice.monthly_usd) in text
    assert render.service_name(rec.choice.service) in text
    assert 'id="alternatives"' in text and text.count("<tr") > len(rec.alternatives)
    for rej in rec.rejected:
        assert rej.reason in text
    assert render.usd(rec.baseline.monthly_usd) in text
    assert rec.catalog.version in text and rec.catalog.as_of in text
    assert 'id="estimates"' in text and "estimate" in text
    assert "Requiring dedicated tenancy costs" in text
    for key in ("cost-by-option", "what-if"):
        assert f'id="chart-{key}"' in text
    # flat, so not drawn: no option has any interruption risk, and every option left is ECS on EC2 (medium ops)
    assert 'id="chart-cost-vs-risk"' not in text and 'id="chart-cost-vs-ops"' not in text
    page = Page(text)
    assert len(page.ids) == len(set(page.ids))
    # the form comes back filled in, to try other inputs
    assert page.inputs["f-tenancy"] is not None and 'value="dedicated" selected' in text


def test_review_bad_input_is_422_with_field_errors(client):
    r = client.post("/review", data={**form.defaults(), "vcpu": "abc", "memory_gib": "", "region": "nowhere-9",
                                     "horizon_months": "500"})
    assert r.status_code == 422
    assert 'class="error-summary"' in r.text
    for name in ("vcpu", "region", "horizon_months"):
        assert f'id="e-{name}"' in r.text, name
        assert re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', r.text), name
    assert 'value="abc"' in r.text  # what was typed is kept


@pytest.mark.parametrize("data", [
    {},                                             # nothing at all
    {"id": "x" * 500, "vcpu": "1e999", "memory_gib": "nan"},
    {"id": "a", "vcpu": "2", "memory_gib": "8", "allowed_services": ["ec2", "mainframe"]},
    {"id": "a", "vcpu": "2", "memory_gib": "8", "os": "plan9", "tenancy": "moon", "top_k": "-3"},
    {"id": "a", "requests_per_month": "100"},
])
def test_review_never_500s_on_bad_form_input(client, data):
    r = client.post("/review", data=data)
    assert r.status_code == 422, r.text[:300]
    assert "text/html" in r.headers["content-type"]


def test_review_post_that_is_not_a_form_is_415(client):
    r = client.post("/review", json={"workload": {"id": "a"}})
    assert r.status_code == 415 and "text/html" in r.headers["content-type"]


def test_upload_csv_shows_every_row(client):
    r = client.post("/review/upload", files={"file": ("small.csv", SMALL_CSV, "text/csv")})
    assert r.status_code == 200, r.text[:500]
    rows = list(csv.DictReader(io.StringIO(SMALL_CSV.decode())))
    table = r.text[r.text.index('id="rows"'):]
    for row in rows:
        assert f">{row['id']}<" in table
    assert "vcpu: not a number (got &#39;two&#39;)" in table
    assert 'id="chart-cost-by-service"' in r.text
    assert "4 workloads from" in r.text
    ids = Page(r.text).ids
    assert len(ids) == len(set(ids))


def test_upload_single_workload_json_reviews_it(client):
    r = client.post("/review/upload", files={"file": ("api.json", (EXAMPLES / "api.json").read_bytes(),
                                                      "application/json")})
    assert r.status_code == 200
    assert "checkout-api" in r.text and 'id="whatifs"' in r.text


def test_upload_portfolio(client):
    doc = {"workloads": [{"id": "a", "vcpu": 2, "memory_gib": 4},
                         {"id": "b", "vcpu": 1, "memory_gib": 2, "replicas": 3, "orchestrator": "kubernetes"}],
           "constraints": {}}
    r = client.post("/review/upload", files={"file": ("p.json", json.dumps(doc).encode(), "application/json")})
    assert r.status_code == 200, r.text[:500]
    assert "Portfolio" in r.text
    # a valid portfolio is planned: never the "each workload alone" fallback
    assert render.PORTFOLIO_UNAVAILABLE not in r.text and 'id="rows"' not in r.text
    assert 'id="plan-rows"' in r.text and 'id="chart-cost-by-service"' in r.text
    assert "workloads planned together cost" in r.text and "<details" in r.text
    start = r.text.index('id="portfolio-title"')
    section = r.text[start:r.text.index("</section>", start)]
    shown = re.sub(r"<[^>]+>", " ", section)   # the words shown, without the markup
    assert not re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", shown), "internal keys shown"
    assert "{&#39;" not in section and "{'" not in section and "{&quot;" not in section
    ids = Page(r.text).ids
    assert len(ids) == len(set(ids))


def test_a_planner_failure_is_a_visible_error_not_another_answer(monkeypatch, catalog):
    def broken():
        def fail(*args, **kwargs):
            raise RuntimeError("no plan passed validation")
        return fail

    monkeypatch.setattr(render, "_planner", broken)
    ctx = render.portfolio_context({"workloads": [{"id": "a", "vcpu": 1, "memory_gib": 2}]}, catalog=catalog,
                                   source="p.json")
    assert not ctx["available"] and ctx["alone"] is None
    html = render.report_html(ctx)
    assert "The planner failed on this portfolio: RuntimeError: no plan passed validation" in html
    assert 'id="portfolio-error"' in html and 'id="rows"' not in html


def test_portfolio_without_planner_says_so(monkeypatch, catalog):
    def missing():
        raise ImportError("no planner")

    monkeypatch.setattr(render, "_planner", missing)
    ctx = render.portfolio_context({"workloads": [{"id": "a", "vcpu": 1, "memory_gib": 2}]}, catalog=catalog,
                                   source="p.json")
    assert not ctx["available"] and ctx["message"] == render.PORTFOLIO_UNAVAILABLE
    assert ctx["alone"]["summary"]["rows"] == 1
    html = render.report_html(ctx)
    assert "portfolio planning not available yet" in html


@pytest.mark.parametrize(("name", "body", "status", "says"), [
    ("empty.csv", b"", 422, "is empty"),
    ("bad.json", b"{not json", 422, "not valid JSON"),
    ("header.csv", b"id,vcpu\n", 422, "no data rows"),
    ("binary.csv", b"\xff\xfe\x00id", 400, "not UTF-8"),
    ("empty.json", b'{"workloads": []}', 422, "no workloads"),
    ("bad-workload.json", b'{"id": "a", "vcpu": -1, "memory_gib": 2}', 422, "vcpu"),
])
def test_upload_errors_are_shown_on_the_page(client, name, body, status, says):
    r = client.post("/review/upload", files={"file": (name, body, "application/octet-stream")})
    assert r.status_code == status, r.text[:300]
    assert 'id="e-upload"' in r.text and says in r.text


def test_upload_without_a_file(client):
    r = client.post("/review/upload", data={"include_free_tier": "true"}, files={"other": ("x", b"y")})
    assert r.status_code == 422 and "choose a file" in r.text


# --- the report ----------------------------------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def assert_self_contained(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "@import" not in html and "url(http" not in html
    assert "<script" not in html
    assert "<svg" in html


def test_report_html_is_self_contained(tmp_path):
    src = tmp_path / "w.json"
    src.write_text(json.dumps(CONSTRAINED))
    out = write_report(src, tmp_path / "review.html")
    html = out.read_text()
    assert_self_contained(html)
    assert html.count("<svg") == 2  # cost by option and what-if; risk and ops effort are flat here
    assert "Requiring dedicated tenancy costs" in html
    assert "The inputs" in html and "ledger" in html
    assert "apache-libcloud" in html  # provenance: sources
    assert re.search(r"prices as of <strong>\d{4}-\d{2}-\d{2}</strong>", html)


def test_report_markdown_writes_charts_beside_it(tmp_path):
    out = write_report(EXAMPLES / "api.json", tmp_path / "r" / "REPORT.md")
    md = out.read_text()
    svgs = sorted(p.name for p in out.parent.glob("*.svg"))
    assert svgs == ["REPORT-cost-by-option.svg", "REPORT-cost-vs-ops.svg", "REPORT-what-if.svg"]
    for name in svgs:
        assert f"]({name})" in md
        assert (out.parent / name).read_text().lstrip().startswith("<?xml")
    for heading in ("## The choice", "## Every option priced, ranked", "## What each constraint costs",
                    "## Rejected, and why", "## Baseline and savings", "## Which prices are estimates",
                    "## The inputs", "## The facts behind these figures"):
        assert heading in md
    assert_tables_well_formed(md)
    assert "checkout-api" in md


def assert_tables_well_formed(md: str) -> None:
    """Every Markdown table row has as many cells as its header row."""
    block: list[int] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            block.append(len(re.findall(r"(?<!\\)\|", line)))
        elif block:
            assert len(set(block)) == 1, block
            block = []


def test_report_of_a_csv_and_the_cli(tmp_path):
    src = tmp_path / "small.csv"
    src.write_bytes(SMALL_CSV)
    result = CliRunner().invoke(__import__("advisor.cli", fromlist=["app"]).app,
                                ["report", str(src), "-o", str(tmp_path / "batch.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "batch.html").read_text()
    assert_self_contained(html)
    for row_id in ("web-1", "fn-1", "bad-1", "batch-1"):
        assert row_id in html
    md = write_report(src, tmp_path / "batch.md").read_text()
    assert_tables_well_formed(md)
    assert "| 4 | bad-1 | **error** | vcpu: not a number (got 'two')" in md
    assert (tmp_path / "batch-cost-by-service.svg").exists()


def test_report_rejects_other_suffixes(tmp_path):
    from advisor.errors import InputError

    with pytest.raises(InputError, match=r"\.html or \.md"):
        write_report(EXAMPLES / "api.json", tmp_path / "report.pdf")
