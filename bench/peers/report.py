"""Write the peer section of bench/README.md and bench/peers/bars_per_second.png.

    python bench/peers/report.py bench/peers/results.json

Reads what run.py wrote; the per-framework rules are the docstrings of the runners
in frameworks/, so the README says exactly what the measured code does.
"""

import ast
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
CHART = HERE / "bars_per_second.png"
START, END = "<!-- peers:start -->", "<!-- peers:end -->"
FLINT_REFERENCE_LABEL = "flint mypyc ClosePriceFill"
FLINT_RULES = asdict(reference.Rules())

ARITHMETIC_NOTES = {
    "nautilus": "money is fixed-point at 8 decimals, so every fill's cost and fee are rounded "
                "to 1e-8 USDT",
    "flint_trading": "its context rounds each realised PnL to 8 decimals",
    "backtesting_py": "FractionalBacktest scales prices by 1e-8 and trades whole satoshis",
}
RULE_TEXT = {
    ("sizing", "notional"): "sizes by notional: cash / close units with the fee on top, flint "
                            "buys cash / (close * 1.0005) (0.05 % more exposure here)",
    ("lot", 1e-8): "floors sizes to 1e-8 units",
    ("final", "previous"): "closes the last position at the close before the last bar",
    ("final", "mark"): "cannot close on the last bar: the last position stays open, marked at "
                       "the last close without an exit fee and not counted as a trade",
}


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


def fmt_rss(cell: dict) -> str:
    return f"{cell['peak_rss_mb']:.0f}"


def docstrings() -> dict[str, str]:
    out = {}
    for path in sorted((HERE / "frameworks").glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if doc:
            out[path.stem] = " ".join(doc.split())
    return out


def key(rules: dict) -> str:
    return json.dumps(rules, sort_keys=True)


def results_table(results: list[dict]) -> list[str]:
    lines = ["| framework | strategy | dataset | seconds | bars/s | peak RSS MB | final equity "
             "| trades | runs |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for c in results:
        if c["status"] == "ok":
            runs = ", ".join(f"{s:.3g}" for s in c["runs"])
            lines.append(f"| {c['framework']} | {c['strategy']} | {c['dataset']} | "
                         f"{c['seconds']:.3f} | {c['bars_per_s']:,.0f} | {fmt_rss(c)} | "
                         f"{c['final_equity']:,.6f} | {c['trades']} | {runs} |")
        else:
            lines.append(f"| {c['framework']} | {c['strategy']} | {c['dataset']} | "
                         f"{c['status']} | | | | | {c.get('detail', '')} |")
    return lines


def ratio_table(results: list[dict]) -> list[str]:
    ok = {(c["framework"], c["strategy"], c["dataset"]): c for c in results if c["status"] == "ok"}
    flints = sorted({c["framework"] for c in results if c["module"] == "flint_sdk"})
    peers = [f for f in dict.fromkeys(c["framework"] for c in results)
             if not f.startswith("flint ")]
    cells = sorted({(c["strategy"], c["dataset"]) for c in results},
                   key=lambda sd: (sd[1], sd[0]))
    lines = ["| flint | strategy | dataset | " + " | ".join(peers) + " |",
             "|---|---|---|" + "---:|" * len(peers)]
    for flint in flints:
        for strategy, dataset in cells:
            mine = ok.get((flint, strategy, dataset))
            row = []
            for peer in peers:
                theirs = ok.get((peer, strategy, dataset))
                if mine and theirs:
                    row.append(f"{mine['bars_per_s'] / theirs['bars_per_s']:.2f}x")
                else:
                    row.append("pending" if not mine else "n/a")
            lines.append(f"| {flint} | {strategy} | {dataset} | " + " | ".join(row) + " |")
    return lines


# Issue 7's targets for the compiled build: (what, flint cell, peer, strategy, minimum ratio)
SPEED_TARGETS = [
    ("S1 >= 5x backtesting.py", "flint mypyc ClosePriceFill", "backtesting.py", "S1", 5.0),
    ("S1 >= 20x NautilusTrader", "flint mypyc ClosePriceFill", "NautilusTrader", "S1", 20.0),
    ("S0 >= 6x backtesting.py", "flint mypyc ClosePriceFill", "backtesting.py", "S0", 6.0),
    ("S1 with FillPipeline >= 3x backtesting.py", "flint mypyc FillPipeline", "backtesting.py",
     "S1", 3.0),
]
RSS_DATASET = "gbm_1m"
RSS_PEER = "backtesting.py"


def targets_table(results: list[dict]) -> list[str]:
    """Whether each of issue 7's targets holds in this run, per dataset."""
    ok = {(c["framework"], c["strategy"], c["dataset"]): c for c in results if c["status"] == "ok"}
    datasets = list(dict.fromkeys(c["dataset"] for c in results))
    lines = ["| target | dataset | measured | holds |", "|---|---|---:|---|"]
    for label, flint, peer, strategy, minimum in SPEED_TARGETS:
        for dataset in datasets:
            mine, theirs = ok.get((flint, strategy, dataset)), ok.get((peer, strategy, dataset))
            if not (mine and theirs):
                lines.append(f"| {label} | {dataset} | not measured | - |")
                continue
            ratio = mine["bars_per_s"] / theirs["bars_per_s"]
            lines.append(f"| {label} | {dataset} | {ratio:.2f}x | "
                         f"{'yes' if ratio >= minimum else '**no**'} |")
    flints = sorted({c["framework"] for c in results if c["framework"].startswith("flint mypyc")})
    for flint in flints:
        for strategy in ("S0", "S1"):
            mine = ok.get((flint, strategy, RSS_DATASET))
            theirs = ok.get((RSS_PEER, strategy, RSS_DATASET))
            label = f"peak RSS below {RSS_PEER}'s ({flint}, {strategy})"
            if not (mine and theirs):
                lines.append(f"| {label} | {RSS_DATASET} | not measured | - |")
                continue
            holds = mine["peak_rss_mb"] < theirs["peak_rss_mb"]
            lines.append(f"| {label} | {RSS_DATASET} | {fmt_rss(mine)} MB vs "
                         f"{fmt_rss(theirs)} MB | {'yes' if holds else '**no**'} |")
    return lines


def explain(cell: dict) -> str:
    parts = [text for (field, value), text in RULE_TEXT.items()
             if cell["rules"].get(field) == value and FLINT_RULES[field] != value]
    if cell["module"] in ARITHMETIC_NOTES:
        parts.append(ARITHMETIC_NOTES[cell["module"]])
    if cell["module"] == "flint_sdk" and cell["variant"] == "pipeline":
        parts.append("FillPipeline adds latency, impact and partial fills (not like for like)")
    return "; ".join(parts) or "same rules as flint"


def agreement_table(report: dict) -> list[str]:
    results = [c for c in report["results"] if c["strategy"] == "S1" and c["status"] == "ok"]
    flint = {c["dataset"]: c for c in results if c["framework"] == FLINT_REFERENCE_LABEL}
    lines = ["| dataset | framework | final equity | trades | vs own-rules reference | "
             "vs flint | why it differs from flint |", "|---|---|---:|---:|---:|---:|---|"]
    for dataset, check in report["checks"].items():
        stand_in = check["reference"][key(FLINT_RULES)]
        base = flint.get(dataset)
        base_label = "" if base else " (ref.)"
        base_eq = base["final_equity"] if base else stand_in["final_equity"]
        lines.append(f"| {dataset} | numpy reference, flint's rules | "
                     f"{stand_in['final_equity']:,.9f} | {stand_in['trades']} | 0 | "
                     f"{rel(stand_in['final_equity'], base_eq):.1e}{base_label} | "
                     f"exact-integer SMA comparison |")
        for c in (c for c in results if c["dataset"] == dataset):
            own = check["reference"][key(c["rules"])]
            own_diff = rel(c["final_equity"], own["final_equity"])
            trades_note = "" if c["trades"] == own["trades"] else f" (ref. {own['trades']})"
            lines.append(
                f"| {dataset} | {c['framework']} | {c['final_equity']:,.9f} | "
                f"{c['trades']}{trades_note} | {own_diff:.1e} | "
                f"{rel(c['final_equity'], base_eq):.1e}{base_label} | {explain(c)} |")
    return lines


def decomposition(report: dict) -> list[str]:
    lines = ["| dataset | flint's rules (fee-inclusive) | notional sizing | + lot 1e-8 | "
             "+ close at previous close | last one left open |", "|---|---:|---:|---:|---:|---:|"]
    steps = [asdict(rules) for rules in reference.RULE_STEPS]
    for dataset, check in report["checks"].items():
        values = [check["reference"].get(key(s)) for s in steps]
        shown = [f"{v['final_equity']:,.9f} ({v['trades']})" if v else "-" for v in values]
        lines.append(f"| {dataset} | " + " | ".join(shown) + " |")
    return lines


def versions(results: list[dict]) -> list[str]:
    seen: dict[str, str] = {}
    for c in results:
        if c["status"] == "ok":
            env = c["env"]
            text = ", ".join(f"{k} {v}" for k, v in c["versions"].items())
            seen.setdefault(env, f"{text}; Python {c['python']}")
    return [f"- **{env}**: {text}" for env, text in seen.items()]


def chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(c["dataset"] for c in results))
    labels = list(dict.fromkeys(c["framework"] for c in results))
    size = (5 * len(datasets), 0.45 * len(labels) + 1.5)
    fig, axes = plt.subplots(1, len(datasets), figsize=size, sharey=True, squeeze=False)
    cells = {(c["framework"], c["strategy"], c["dataset"]): c for c in results}
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for offset, strategy, color in ((-0.2, "S0", "#9ecae1"), (0.2, "S1", "#3182bd")):
            for y, label in enumerate(labels):
                cell = cells.get((label, strategy, dataset), {"status": "not run"})
                if cell["status"] == "ok":
                    ax.barh(y + offset, cell["bars_per_s"], height=0.38, color=color,
                            label=strategy if y == 0 or not ax.get_legend_handles_labels()[1]
                            .count(strategy) else None)
                else:
                    pending = cell.get("detail", "").startswith("pending")
                    shown = "pending" if pending else cell["status"]
                    ax.text(1.2e3, y + offset, f"{strategy}: {shown}", va="center", fontsize=7,
                            color="grey")
        ax.set_xscale("log")
        ax.set_xlim(1e3, 1e8)
        ax.set_title(dataset)
        ax.set_xlabel("bars per second (log)")
        ax.grid(axis="x", which="major", alpha=0.3)
    axes[0][0].set_yticks(range(len(labels)), labels)
    axes[0][0].invert_yaxis()
    handles, names = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="upper right")
    fig.suptitle("Peer benchmark: bars per second (median of runs, higher is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def section(report: dict) -> str:
    m = report["machine"]
    docs = docstrings()
    flint_pending = all(c["status"] != "ok" for c in report["results"]
                        if c["module"] == "flint_sdk")
    out = [
        START,
        "## Peers (issue 7)",
        "",
        "Generated by `nox -s bench_peers` (bench/peers/report.py); do not edit by hand.",
        f"Run started {report['started']}, took {report['elapsed_s']:.0f} s of cells; "
        f"1-minute load average at the end {report['loadavg_end'][0]:.2f}. "
        "Other people share this machine's 2 cores, so treat the timings as provisional.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, "
        f"Python {m['python']} ({m['platform']}).",
        "",
        "What is measured: S0 = no-op, S1 = SMA 20/50 long/flat (long exactly while "
        "fast > slow, decisions on bars 50 .. n-2, fills at the signal bar's close, 5 bps of "
        "each fill's notional, all-in, 10,000 capital, any position closed on the last bar). "
        "Datasets: `sol_1h` = Binance SOLUSDT perpetual 1h (real), `gbm_100k` / `gbm_1m` = "
        "seeded GBM hourly bars (bench/peers/data.py). Every cell is a fresh process: the "
        "framework's native input is built untimed, one warm-up run on 2,000 bars, then "
        f"up to {report['runs']} timed runs (median shown; all listed); a run builds a new "
        "engine and strategy. Peak RSS is the cell process's maximum (input data, framework "
        "and runs together). On `gbm_1m` a framework whose `gbm_100k` speed projects more "
        f"than {report['run_cap_s']:.0f} s per run is skipped"
        + (f", and so is any 1M cell that would overrun the {report['time_budget_s']:.0f} s "
           "budget for all cells." if "time_budget_s" in report else "."),
        "",
    ]
    if flint_pending:
        out += ["**flint: not available yet** (flint.backtest.engine is not merged); its rows "
                "show `not available` and the ratios `pending`. The agreement table compares "
                "the peers with the numpy reference under flint's rules instead (marked ref.).",
                ""]
    out += ["### Results", "", *results_table(report["results"]), "",
            "### flint / peer speed (bars per second, same run)", "",
            *ratio_table(report["results"]), "",
            "![bars per second](peers/bars_per_second.png)", "",
            "### Issue 7's targets (compiled build, this run)", "",
            *targets_table(report["results"]), "",
            "### Agreement on S1", "",
            "Each framework is compared with the numpy reference (bench/peers/reference.py) "
            "run under that framework's own rules (sizing, lot, end of data), and with flint "
            "(ClosePriceFill, mypyc). Relative differences of final equity.", "",
            *agreement_table(report), "",
            "How the rules move the reference's final equity (round trips in brackets):", "",
            *decomposition(report), ""]
    ties = {d: c["ties"] for d, c in report["checks"].items()}
    out += ["Exact ties (fast == slow in exact arithmetic; flat in the reference) and bars "
            "where float means of the windows decide differently from exact arithmetic: "
            + "; ".join(f"{d}: {t['exact_ties']} ties, {t['float_mean_disagreements']} "
                        f"float disagreements in {t['decision_bars']:,} decisions"
                        for d, t in ties.items())
            + ". With none, no framework's SMA arithmetic can change a decision here; where "
            "one occurs, a framework whose float SMAs round a tie upward stays long one bar "
            "longer than the reference.", "",
            "### Versions", "", *versions(report["results"]), "",
            "### Rules per framework (the runners' docstrings)", ""]
    out += [f"- **{name}**: {text}" for name, text in docs.items()]
    out += ["", END]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    report = json.loads(Path(args[0]).read_text())
    text = README.read_text() if README.is_file() else "# Benchmarks\n"
    block = section(report)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text)
    chart(report["results"], CHART)
    print(f"wrote {README} and {CHART}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
