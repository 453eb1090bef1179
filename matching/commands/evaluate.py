"""``chainmatch evaluate``: engine vs text-only baseline on the judged case set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from matching.evaluation import EvalReport, Metrics, evaluate_baseline, evaluate_engine, load_eval_set


def evaluate(
    cases: Annotated[
        Path | None, typer.Option(help="cases.yaml (its corpus.yaml sits beside it; default: tests/eval/)")
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Cut-off for precision@k and NDCG@k")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """Precision@k, MRR and NDCG@k of the engine and the TF-IDF baseline, overall and per tag."""
    data = load_eval_set(cases)
    baseline = evaluate_baseline(data, k)
    engine: EvalReport | None
    engine_error: str | None = None
    try:
        engine = evaluate_engine(data, k)
    except ImportError as exc:  # the engine module is not there yet
        engine, engine_error = None, str(exc)
    if json_out:
        payload = {
            "k": k,
            "cases": len(data.cases),
            "baseline": baseline.model_dump(mode="json"),
            "engine": engine.model_dump(mode="json") if engine else None,
            "engine_error": engine_error,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 120))
    console.print(_table(baseline, engine, k, len(data.cases)))
    if engine is None:
        console.print(f"[yellow]engine unavailable: {engine_error}; baseline only[/yellow]")
        return
    errors = [r for r in engine.cases if r.error]
    leaks = [r for r in engine.cases if r.must_not_hits]
    for r in errors:
        console.print(f"[red]case {r.id} failed: {r.error}[/red]")
    for r in leaks:
        console.print(f"[red]case {r.id}: forbidden item(s) in top {k}: {r.must_not_hits}[/red]")
    misses = [r.id for r in engine.cases if r.rr == 0 and not r.error]
    if misses:
        console.print(f"engine found nothing relevant in the top {max(k, 10)} for: {', '.join(misses)}")


def _table(baseline: EvalReport, engine: EvalReport | None, k: int, n_cases: int) -> Table:
    """One row per tag plus overall; each cell is ``engine / baseline`` (bold when the engine is better)."""
    table = Table(title=f"chainmatch evaluation, {n_cases} cases, k={k}: engine / text baseline")
    table.add_column("tag", no_wrap=True)
    table.add_column("n", justify="right")
    fields = {"precision": f"P@{k}", "mrr": "MRR", "ndcg": f"NDCG@{k}", "distractor_rate": f"distractor@{k}"}
    for title in fields.values():
        table.add_column(title, justify="right", no_wrap=True)
    rows: list[tuple[str, Metrics, Metrics | None]] = [
        (tag, m, engine.by_tag.get(tag) if engine else None) for tag, m in baseline.by_tag.items()
    ]
    rows.append(("overall", baseline.overall, engine.overall if engine else None))
    for i, (tag, base, eng) in enumerate(rows):
        cells = [tag, str(base.cases)]
        for field in fields:
            b = getattr(base, field)
            e = getattr(eng, field) if eng else None
            if e is None:
                cells.append(f"- / {b:.3f}")
                continue
            better = e < b if field == "distractor_rate" else e > b
            cells.append(f"[bold]{e:.3f}[/bold] / {b:.3f}" if better else f"{e:.3f} / {b:.3f}")
        table.add_row(*cells, end_section=i == len(rows) - 2)
    return table
