"""``chainmatch evaluate``: engine vs text-only baseline on the shipped judged case sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from matching.evaluation import (
    EVAL_SETS,
    EvalReport,
    Metrics,
    eval_set_dir,
    evaluate_baseline,
    evaluate_engine,
    load_eval_set,
)

_FIELDS = {"precision": "P@{k}", "mrr": "MRR@10", "ndcg": "NDCG@{k}", "hit3": "hit@3", "recall": "recall@{k}",
           "distractor_rate": "distractor@{k}"}


def evaluate(
    set_name: Annotated[
        str, typer.Option("--set", help=f"Shipped case set: {', '.join(EVAL_SETS)}, or 'all'")
    ] = "dev",
    cases: Annotated[Path | None, typer.Option(help="Another cases.yaml (its corpus.yaml beside it)")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Cut-off for precision, NDCG and recall")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """Engine and TF-IDF baseline on the same cases: overall, per direction and per tag."""
    if cases is not None:
        targets = [(str(cases), cases)]
    elif set_name == "all":
        targets = [(name, eval_set_dir(name) / "cases.yaml") for name in EVAL_SETS]
    elif set_name in EVAL_SETS:
        targets = [(set_name, eval_set_dir(set_name) / "cases.yaml")]
    else:
        raise typer.BadParameter(f"unknown set {set_name!r}; known: {', '.join(EVAL_SETS)}, all", param_hint="--set")
    payload: dict[str, object] = {}
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 130))
    for name, path in targets:
        data = load_eval_set(path)
        baseline = evaluate_baseline(data, k)
        engine = evaluate_engine(data, k)  # a broken engine is an error, never a silent baseline-only run
        if json_out:
            payload[name] = {"k": k, "cases": len(data.cases), "baseline": baseline.model_dump(mode="json"),
                             "engine": engine.model_dump(mode="json")}
            continue
        console.print(_table(name, baseline, engine, k, len(data.cases)))
        for r in engine.cases:
            if r.error:
                console.print(f"[red]case {r.id} failed: {r.error}[/red]")
            if r.must_not_hits:
                console.print(f"[red]case {r.id}: forbidden item(s) in top {k}: {r.must_not_hits}[/red]")
        misses = [r.id for r in engine.cases if r.rr == 0 and not r.error]
        if misses:
            console.print(f"engine found nothing relevant in the top 10 for: {', '.join(misses)}")
    if json_out:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def _table(name: str, baseline: EvalReport, engine: EvalReport, k: int, n_cases: int) -> Table:
    """Rows: each direction, overall, then each tag; cells ``engine / baseline`` (bold where better)."""
    table = Table(title=f"{name}: {n_cases} cases, k={k}: engine / text baseline")
    table.add_column("group", no_wrap=True)
    table.add_column("n", justify="right")
    for title in _FIELDS.values():
        table.add_column(title.format(k=k), justify="right", no_wrap=True)
    rows: list[tuple[str, Metrics, Metrics]] = [
        (f"→ {d}", m, engine.by_direction.get(d, m)) for d, m in baseline.by_direction.items()
    ]
    rows.append(("overall", baseline.overall, engine.overall))
    head = len(rows)
    rows += [(tag, m, engine.by_tag.get(tag, m)) for tag, m in baseline.by_tag.items()]
    for i, (group, base, eng) in enumerate(rows):
        cells = [group, str(base.cases)]
        for field in _FIELDS:
            b, e = getattr(base, field), getattr(eng, field)
            better = e < b if field == "distractor_rate" else e > b
            cells.append(f"[bold]{e:.3f}[/bold] / {b:.3f}" if better else f"{e:.3f} / {b:.3f}")
        table.add_row(*cells, end_section=i == head - 1)
    return table
