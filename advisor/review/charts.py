"""Charts as SVG text, drawn on the server with matplotlib (Agg backend, no display, no network).

Each function returns a `Chart`: the SVG document (for a file beside a Markdown report) and the same
drawing ready to inline in HTML (no XML prologue, sized by CSS, labelled for screen readers). Text stays
text (`svg.fonttype: none`), so the SVGs are small and readable; ids are salted per chart so several
charts can share one page. Colours are the Okabe-Ito palette (distinguishable with colour blindness).
"""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Okabe-Ito, then greys: colour-blind safe, and each readable on white.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999", "#666666"]
CHOICE = "#D55E00"
FRONT = "#0072B2"
OTHER = "#8a8a8a"
SAVE = "#009E73"
MORE = "#CC79A7"
INK = "#1a1a1a"

# Cost-line categories, in stacking order: (name, pattern on the lower-cased item).
CATEGORIES: list[tuple[str, re.Pattern[str] | None]] = [
    ("compute", None),
    ("storage", re.compile(r"\bebs\b|instance store|scratch|volume")),
    ("data transfer", re.compile(r"data transfer")),
    ("public IPv4", re.compile(r"ipv4")),
    ("load balancer", re.compile(r"load balancer|^alb\b")),
    ("control plane", re.compile(r"control plane")),
    ("requests and queues", re.compile(r"\bsqs\b|requests")),
    ("fees and surcharges", re.compile(r"fee\b|surplus|surcharge")),
]

_LOCK = threading.Lock()  # rcParams are global: one chart at a time per process
_RISK = re.compile(r"(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str  # one sentence saying what the chart shows (also the SVG's accessible label)
    svg: str          # a whole SVG document (for a .svg file)

    @property
    def inline(self) -> str:
        """The SVG for inlining in HTML: no prologue, no fixed size (CSS scales it), with an accessible name."""
        body = self.svg[self.svg.index("<svg"):]
        head_end = body.index(">")
        head = re.sub(r'\s(width|height)="[^"]*"', "", body[:head_end])
        label = html.escape(f"{self.title}. {self.description}", quote=True)
        head += f' role="img" aria-label="{label}" class="chart-svg"'
        return head + body[head_end:]

    def filename(self, stem: str) -> str:
        return f"{stem}-{self.key}.svg"


def category(item: str) -> str:
    text = item.lower()
    for name, pattern in CATEGORIES[1:]:
        if pattern is not None and pattern.search(text):
            return name
    return "compute"


def risk_rank(risk: str | None) -> float:
    """An order for interruption-risk labels: 'none' first, then by the bucket's midpoint ('<5%' before
    '5-10%' before '>20%'); a label without a number sorts last."""
    if not risk or risk.strip().lower() == "none":
        return 0.0
    numbers = [float(x) for x in _RISK.findall(risk)]
    if not numbers:
        return 1000.0
    if "<" in risk:
        return numbers[0] / 2
    if ">" in risk:
        return numbers[0] + 5
    return sum(numbers[:2]) / len(numbers[:2])


OPS_RANK = {"low": 0, "medium": 1, "high": 2}


def option_label(o: Any, *, short: bool = False) -> str:
    """'ecs_ec2 · savings plan 3yr all upfront · m6g.large x3' for an Option (or a dict of its fields)."""
    get = o.get if isinstance(o, dict) else (lambda k, d=None: getattr(o, k, d))
    parts = [str(get("service"))]
    option = str(get("purchase_option") or "").replace("_", " ")
    for key in ("plan_type", "offering_class", "term", "payment"):
        value = get(key)
        if value and not short:
            option += " " + str(value).replace("_", " ")
        elif value and key == "term":
            option += " " + str(value)
    parts.append(option)
    if get("instance_type"):
        parts.append(f"{get('instance_type')} x{get('count')}")
    return " · ".join(parts)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (lower is better on both)."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for j, (x2, y2) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return front


# --- drawing ----------------------------------------------------------------------------------------------

def _render(key: str, title: str, description: str, draw: Any, size: tuple[float, float]) -> Chart:
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    rc = {"svg.fonttype": "none", "svg.hashsalt": f"advisor-{key}", "text.parse_math": False,
          "font.size": 10, "font.family": "sans-serif", "axes.edgecolor": "#444444", "axes.labelcolor": INK,
          "xtick.color": INK, "ytick.color": INK, "text.color": INK, "axes.titleweight": "bold",
          "axes.spines.top": False, "axes.spines.right": False}
    with _LOCK, matplotlib.rc_context(rc):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None},
                    facecolor="white")
    return Chart(key, title, description, _scope_ids(buf.getvalue(), key))


def _scope_ids(svg: str, key: str) -> str:
    """Prefix every id (and every reference to one) with the chart key: inlined charts never share an id."""
    ids = set(re.findall(r'\sid="([^"]+)"', svg))
    if not ids:
        return svg

    def swap(m: re.Match[str]) -> str:
        name = m.group(2)
        return f"{m.group(1)}{key}-{name}{m.group(3)}" if name in ids else m.group(0)

    return re.sub(r'(\sid="|url\(#|href="#)([^")]+)([")])', swap, svg)


def _money_axis(ax: Any, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    # few ticks, short labels: "$1,500$1,750$2,000" collided on a narrow chart
    which = ax.xaxis if axis == "x" else ax.yaxis
    which.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], min_n_ticks=2))
    which.set_major_formatter(FuncFormatter(lambda v, _pos: money_tick(v)))
    ax.grid(axis=axis, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def money_tick(value: float) -> str:
    """'$0', '$750', '$1.5k', '$1.75k', '$12k', '$1.2M': at most six characters, so neighbours never touch."""
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.2f}".rstrip("0").rstrip(".") + "M"
    elif size >= 1e3:
        text = f"{size / 1e3:.2f}".rstrip("0").rstrip(".") + "k"
    else:
        text = f"{size:,.0f}"
    return ("-$" if value < 0 else "$") + text


def cost_by_option(options: Sequence[Any]) -> Chart | None:
    """Every option side by side (the choice first), each bar stacked by cost-line category."""
    if not options:
        return None
    labels = [("★ " if i == 0 else "") + option_label(o) for i, o in enumerate(options)]
    cats = [name for name, _ in CATEGORIES]
    values = {c: [0.0] * len(options) for c in cats}
    for i, o in enumerate(options):
        lines = o.cost_lines if hasattr(o, "cost_lines") else o.get("cost_lines", [])
        for line in lines:
            item = line.item if hasattr(line, "item") else line["item"]
            amount = line.monthly_usd if hasattr(line, "monthly_usd") else line["monthly_usd"]
            values[category(item)][i] += float(amount)
    used = [c for c in cats if any(values[c])]
    n = len(options)

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(n))
        left = [0.0] * n
        for k, c in enumerate(used):
            ax.barh(y, values[c], left=left, color=PALETTE[k % len(PALETTE)], label=c, height=0.7,
                    edgecolor="white", linewidth=0.5)
            left = [a + b for a, b in zip(left, values[c], strict=True)]
        for i, total in enumerate(left):
            ax.text(total, i, f"  ${total:,.2f}", va="center", fontsize=8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(left or [1]) * 1.22 or 1)
        _money_axis(ax)
        ax.set_xlabel("US$ a month (average over the horizon)")
        ax.set_title("Monthly cost of every option, by cost line")
        fig.legend(loc="outside lower center", fontsize=8, ncol=min(5, len(used)), frameon=False)

    return _render("cost-by-option", "Cost of every option",
                   f"{n} options, the choice first (marked ★), each bar split into {', '.join(used)}.",
                   draw, (8.0, 1.5 + 0.3 * n))


def _tradeoff(key: str, title: str, options: Sequence[Any], rank: Any, axis_label: str,
              tick_labels: dict[float, str]) -> Chart | None:
    if not options:
        return None
    costs = [float(_get(o, "monthly_usd")) for o in options]
    ranks = [rank(o) for o in options]
    if len(set(ranks)) < 2:
        return None  # every option at one level (e.g. no risk anywhere): the chart would say nothing
    front = set(pareto_front(list(zip(costs, ranks, strict=True))))

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        others = [i for i in range(len(options)) if i not in front]
        ax.scatter([costs[i] for i in others], [ranks[i] for i in others], s=28, color=OTHER, alpha=0.7,
                   label="other options", zorder=2)
        ordered = sorted(front, key=lambda i: (costs[i], ranks[i]))
        ax.step([costs[i] for i in ordered], [ranks[i] for i in ordered], where="post", color=FRONT,
                linewidth=1.4, zorder=3)
        ax.scatter([costs[i] for i in ordered], [ranks[i] for i in ordered], s=60, color=FRONT,
                   label="Pareto front (nothing is both cheaper and better)", zorder=4)
        ax.scatter([costs[0]], [ranks[0]], s=200, marker="*", color=CHOICE, edgecolor=INK, linewidth=0.6,
                   label="the choice", zorder=5)
        seen: set[float] = set()
        for i in ordered:
            if ranks[i] in seen:
                continue
            seen.add(ranks[i])
            ax.annotate(option_label(options[i], short=True), (costs[i], ranks[i]), xytext=(6, 6),
                        textcoords="offset points", fontsize=7.5, color=INK)
        ax.set_yticks(list(tick_labels), list(tick_labels.values()))
        lo, hi = min(tick_labels), max(tick_labels)
        ax.set_ylim(lo - 0.6, hi + 0.9)
        _money_axis(ax)
        ax.set_xlim(0, max(costs) * 1.35 or 1)
        ax.set_xlabel("US$ a month")
        ax.set_ylabel(axis_label)
        ax.set_title(title)
        fig.legend(loc="outside lower center", fontsize=8, ncol=3, frameon=False)

    labels = "; ".join(option_label(options[i]) for i in sorted(front, key=lambda i: costs[i]))
    return _render(key, title, f"Cost against {axis_label.lower()} for {len(options)} options; on the Pareto "
                               f"front: {labels}.", draw, (8.0, 3.8))


def _get(o: Any, key: str) -> Any:
    return o.get(key) if isinstance(o, dict) else getattr(o, key)


def cost_vs_risk(options: Sequence[Any]) -> Chart | None:
    """Cost against interruption risk; risk levels are placed evenly, in order (labels, not a scale)."""
    labels = {risk_rank(_get(o, "interruption_risk")): str(_get(o, "interruption_risk") or "none") for o in options}
    order = {r: float(k) for k, r in enumerate(sorted(labels))}
    return _tradeoff("cost-vs-risk", "Cost against interruption risk", options,
                     lambda o: order[risk_rank(_get(o, "interruption_risk"))], "Interruption risk",
                     {order[r]: labels[r] for r in sorted(labels)})


def cost_vs_ops(options: Sequence[Any]) -> Chart | None:
    return _tradeoff("cost-vs-ops", "Cost against operations effort", options,
                     lambda o: float(OPS_RANK.get(str(_get(o, "ops_effort")), 2)), "Operations effort",
                     {0.0: "low (AWS runs it)", 1.0: "medium", 2.0: "high (you run it)"})


def what_if_chart(stated_monthly_usd: float | None, rows: Iterable[dict[str, Any]]) -> Chart | None:
    """The monthly cost as stated next to the cost with each constraint relaxed."""
    items = [(r["change"], r["monthly_usd"]) for r in rows if r.get("monthly_usd") is not None]
    if not items:
        return None
    labels = ["as stated"] + [_wrap(c) for c, _ in items] if stated_monthly_usd is not None else \
        [_wrap(c) for c, _ in items]
    values = ([stated_monthly_usd] if stated_monthly_usd is not None else []) + [v for _, v in items]
    draw = _bars_against(labels, values, stated_monthly_usd, "US$ a month for the cheapest placement",
                         "What each constraint costs (one relaxed at a time)")
    return _render("what-if", "What each constraint costs",
                   f"The monthly cost as stated and with each of {len(items)} constraints relaxed in turn; green "
                   "is cheaper than as stated.", draw, (8.0, 1.1 + 0.36 * len(values)))


def _wrap(text: str, width: int = 48) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return text[:cut] + "\n" + _wrap(text[cut + 1:], width) if cut > 0 else text


def cost_by_service(services: dict[str, dict[str, float]], *, key: str = "cost-by-service",
                    title: str = "Monthly cost by service") -> Chart | None:
    """Bars of monthly cost per service, each labelled with its workload count."""
    items = sorted(services.items(), key=lambda kv: -float(kv[1].get("monthly_usd", 0.0)))
    if not items:
        return None
    names = [k for k, _ in items]
    costs = [float(v.get("monthly_usd", 0.0)) for _, v in items]
    counts = [int(v.get("rows", 0)) for _, v in items]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(len(names)))
        ax.barh(y, costs, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))], height=0.65)
        for i, (c, n) in enumerate(zip(costs, counts, strict=True)):
            ax.text(c, i, f"  ${c:,.2f} ({n} workload{'s' if n != 1 else ''})", va="center", fontsize=8)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(0, max(costs) * 1.45 or 1)
        _money_axis(ax)
        ax.set_xlabel("US$ a month")
        ax.set_title(title)

    desc = "; ".join(f"{n}: ${c:,.2f} a month, {k} workload{'s' if k != 1 else ''}"
                     for n, c, k in zip(names, costs, counts, strict=True))
    return _render(key, title, desc + ".", draw, (8.0, 1.2 + 0.4 * len(names)))


def packed_nodes(groups: Sequence[dict[str, Any]]) -> Chart | None:
    """Shared capacity of a portfolio plan: nodes (or hosts) per group, with what was packed onto them.

    Each group: {"label", "nodes", optional "replicas" (packed onto them), "detail", "unit", "packed"}."""
    groups = [g for g in groups if g.get("nodes")]
    if not groups:
        return None
    labels = [_wrap(str(g["label"]), 36) for g in groups]
    nodes = [float(g["nodes"]) for g in groups]

    def text(g: dict[str, Any]) -> str:
        out = f"{g['nodes']:g} {g.get('unit', 'nodes')}"
        if g.get("replicas") is not None:
            out += f", {g['replicas']:g} {g.get('packed', 'replicas')} packed"
        return out + (f" ({g['detail']})" if g.get("detail") else "")

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(len(groups)))
        ax.barh(y, nodes, color=[FRONT if g.get("unit", "nodes") == "nodes" else PALETTE[1] for g in groups],
                height=0.6)
        for i, g in enumerate(groups):
            ax.text(nodes[i], i, "  " + text(g), va="center", fontsize=8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(nodes) * 2.6 or 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("nodes or hosts")
        ax.set_title("Shared capacity: packed nodes and hosts")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)

    return _render("packed-nodes", "Packed nodes and hosts",
                   "; ".join(f"{g['label']}: {text(g)}" for g in groups) + ".", draw,
                   (8.0, 1.3 + 0.45 * len(groups)))


def scenario_costs(items: Sequence[tuple[str, float | None]]) -> Chart | None:
    """Monthly cost by scenario, the base first (dark, with a dashed line across): green bars cost less than
    the base, pink more; scenarios without an answer are left out (the caption says how many)."""
    base_cost = items[0][1] if items else None
    shown = [(name, cost) for name, cost in items if cost is not None]
    if not shown:
        return None
    missing = len(items) - len(shown)
    values = [cost for _, cost in shown]
    draw = _bars_against([_wrap(name, 36) for name, _ in shown], values, base_cost, "US$ a month",
                         "Monthly cost by scenario")
    n = len(values)

    left_out = "" if not missing else (" 1 scenario without an answer is left out." if missing == 1 else
                                       f" {missing} scenarios without an answer are left out.")
    return _render("scenario-costs", "Monthly cost by scenario",
                   f"The base and each of {n - 1 if base_cost is not None else n} answered scenarios, a month; green "
                   f"costs less than the base, pink more.{left_out}", draw, (8.0, 1.1 + 0.36 * n))


def _bars_against(labels: list[str], values: list[float], reference: float | None, xlabel: str,
                  title: str) -> Callable[[Any], None]:
    """Horizontal bars of monthly cost, each labelled in dollars, against a reference cost (the first bar,
    dark, with a dashed line across): green bars cost less than it, pink more, grey the same (within half a
    cent) or all grey when there is no reference."""
    colours = [INK if reference is not None and i == 0 else
               OTHER if reference is None or abs(v - reference) < 0.005 else
               SAVE if v < reference else MORE for i, v in enumerate(values)]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        y = list(range(len(values)))
        ax.barh(y, values, color=colours, height=0.65)
        for i, v in enumerate(values):
            ax.text(v, i, f"  ${v:,.2f}", va="center", fontsize=8)
        if reference is not None:
            ax.axvline(reference, color=INK, linewidth=0.8, linestyle="--")
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(values) * 1.25 or 1)
        _money_axis(ax)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
    return draw
