"""``chainmatch weights …``, ``chainmatch feedback …`` and ``chainmatch graph suggestions``: the CLI
equivalents of the tuning endpoints, straight against the store (running servers see the results)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from matching.errors import ChainmatchError, InvalidInputError
from matching.service import ChainmatchService, default_settings
from matching.tuning.feedback import FeedbackEvent
from matching.tuning.service import TuningService
from matching.tuning.suggestions import to_yaml
from matching.weights import COMPONENTS

weights_app = typer.Typer(
    help="Weight profiles: list, show, history, publish, preview, evaluate, fit.", no_args_is_help=True
)
feedback_app = typer.Typer(help="Outcome feedback on proposed pairs.", no_args_is_help=True)
graph_app = typer.Typer(help="Chain-graph knowledge from outcomes.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR)")]
DatabaseUrl = Annotated[str | None, typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL)")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON")]
SetWeights = Annotated[
    list[str] | None, typer.Option("--set", help=f"component=weight, repeatable ({', '.join(COMPONENTS)})")
]
T = TypeVar("T")


def _author(author: str | None) -> str:
    return author or f"cli:{getpass.getuser()}"


@contextmanager
def _tuning(data_dir: Path | None, database_url: str | None, *, index: bool) -> Iterator[TuningService]:
    service = ChainmatchService.open(default_settings(data_dir, database_url), build_index=index)
    try:
        yield TuningService(service)
    except ChainmatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        for err in getattr(exc, "errors", []):
            typer.echo(f"  {err.loc}: {err.msg}", err=True)
        raise typer.Exit(2 if isinstance(exc, InvalidInputError) else 1) from None
    finally:
        service.close()


def _parse_weights(pairs: list[str] | None, file: Path | None) -> dict[str, float]:
    weights: dict[str, float] = {}
    if file is not None:
        weights.update(json.loads(file.read_text(encoding="utf-8")).get("weights", {}))
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise typer.BadParameter(f"use component=weight, got {pair!r}", param_hint="--set")
    if not weights:
        raise typer.BadParameter("give weights with --set component=weight or --file", param_hint="--set")
    return weights


def _emit(model: BaseModel | list[Any], as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        data = [m.model_dump(mode="json") for m in model] if isinstance(model, list) else model.model_dump(mode="json")
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        render()


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 130))


def _weights_row(weights: dict[str, float]) -> list[str]:
    return [f"{weights.get(c, 0.0):.3f}" for c in COMPONENTS]


# -- weights ------------------------------------------------------------------------------------------
@weights_app.command("list")
def list_profiles(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOut = False) -> None:
    """Every profile's latest version. 中文：列出权重方案。"""
    with _tuning(data_dir, database_url, index=False) as tuning:
        items = tuning.profiles.list_latest()

    def render() -> None:
        table = Table("name", "version", *COMPONENTS, "by", "why")
        for v in items:
            table.add_row(v.name, str(v.version), *_weights_row(v.weights), v.created_by, v.reason)
        _console().print(table)

    _emit(items, as_json, render)


@weights_app.command("show")
def show(
    name: str,
    version: Annotated[int | None, typer.Option(min=1)] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """One version as JSON (latest by default). 中文：显示某一版本。"""
    with _tuning(data_dir, database_url, index=False) as tuning:
        found = tuning.profiles.get(name, version)
    typer.echo(found.model_dump_json(indent=2))


@weights_app.command("history")
def history(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOut = False) -> None:
    """The audit trail: every version with who, when and why. 中文：审计记录。"""
    with _tuning(data_dir, database_url, index=False) as tuning:
        items = tuning.profiles.history(name)

    def render() -> None:
        table = Table("version", "when", "by", "params", "why", *COMPONENTS, title=f"{name}: history")
        for v in items:
            table.add_row(
                str(v.version),
                v.created_at.isoformat(timespec="seconds"),
                v.created_by,
                str(v.params_version),
                v.reason,
                *_weights_row(v.weights),
            )
        _console().print(table)

    _emit(items, as_json, render)


@weights_app.command("publish")
def publish(
    name: str,
    reason: Annotated[str, typer.Option(help="Why this version exists (audited)")],
    set_weights: SetWeights = None,
    file: Annotated[
        Path | None, typer.Option(exists=True, help="JSON with a 'weights' object (e.g. a fit draft)")
    ] = None,
    author: Annotated[str | None, typer.Option(help="Who publishes (default cli:<user>)")] = None,
    expected_version: Annotated[int | None, typer.Option(min=1, help="Fail unless the latest is this")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Publish a new immutable version (creates the profile if new). 中文：发布新版本。"""
    weights = _parse_weights(set_weights, file)
    with _tuning(data_dir, database_url, index=False) as tuning:
        created = tuning.publish(
            name, weights, None, reason=reason, author=_author(author), expected_version=expected_version
        )
    typer.echo(f"published {created.name}@{created.version} by {created.created_by}")


@weights_app.command("preview")
def preview(
    name: str,
    set_weights: SetWeights = None,
    file: Annotated[Path | None, typer.Option(exists=True, help="JSON with a 'weights' object")] = None,
    k: Annotated[int, typer.Option(min=1, max=50)] = 10,
    sample: Annotated[int | None, typer.Option(min=1, help="Needs to re-rank (default 100)")] = 100,
    all_needs: Annotated[bool, typer.Option("--all", help="Re-rank every need")] = False,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    eval_set: Annotated[str, typer.Option(help="dev, holdout, blind2 or none")] = "dev",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Rank shifts and offline deltas of proposed weights against the latest version. 中文：预览。"""
    weights = _parse_weights(set_weights, file)
    with _tuning(data_dir, database_url, index=True) as tuning, Progress(transient=True) as bar:
        task = bar.add_task("re-ranking needs", total=None)
        report = tuning.preview(
            name,
            weights,
            k=k,
            sample=None if all_needs else sample,
            seed=seed,
            eval_set=None if eval_set == "none" else eval_set,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )

    def render() -> None:
        c = _console()
        tau = "n/a" if report.kendall_tau is None else f"{report.kendall_tau:.3f}"
        overlap = "n/a" if report.top_k_overlap is None else f"{report.top_k_overlap:.3f}"
        c.print(
            f"{report.profile}@{report.current_version} vs proposed: {report.needs}/{report.needs_total} needs, "
            f"Kendall τ {tau}, top-{k} overlap {overlap}, unchanged top-{k}: {report.unchanged_top_k}"
        )
        table = Table("buyer/need", "supplier/offer", "rank now", "rank new", "now", "new", title="largest moves")
        for m in report.moves:
            table.add_row(
                f"{m.buyer_id}/{m.need_id}",
                f"{m.supplier_id}/{m.offer_id}",
                str(m.rank_current),
                str(m.rank_proposed),
                m.explanation_current.summary_zh if m.explanation_current else "",
                m.explanation_proposed.summary_zh if m.explanation_proposed else "",
            )
        c.print(table)
        if report.offline is not None:
            o = report.offline
            c.print(
                f"{o.current.source}: P@{k} {o.current.precision:.3f}→{o.proposed.precision:.3f}, "
                f"MRR {o.current.mrr:.3f}→{o.proposed.mrr:.3f}, NDCG@{k} {o.current.ndcg:.3f}→{o.proposed.ndcg:.3f}"
            )

    _emit(report, as_json, render)


@weights_app.command("evaluate")
def evaluate(
    spec: Annotated[str, typer.Argument(help="name, name@version")],
    k: Annotated[int, typer.Option(min=1, max=50)] = 5,
    sets: Annotated[str, typer.Option(help="Comma-separated: feedback, dev, holdout, blind2")] = "feedback,dev",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOut = False,
) -> None:
    """precision@k, MRR, NDCG@k of a version on feedback and evaluation sets. 中文：离线评估。"""
    with _tuning(data_dir, database_url, index=True) as tuning:
        items = tuning.evaluate(spec, k=k, sets=[s.strip() for s in sets.split(",") if s.strip()])

    def render() -> None:
        table = Table("source", "queries", f"P@{k}", "MRR", f"NDCG@{k}", title=spec)
        for m in items:
            table.add_row(m.source, str(m.queries), f"{m.precision:.3f}", f"{m.mrr:.3f}", f"{m.ndcg:.3f}")
        _console().print(table)

    _emit(items, as_json, render)


@weights_app.command("fit")
def fit(
    name: str,
    k: Annotated[int, typer.Option(min=1, max=50)] = 5,
    eval_set: Annotated[str, typer.Option(help="dev, holdout, blind2 or none")] = "dev",
    out: Annotated[Path | None, typer.Option(help="Write the draft as JSON (publish it with --file)")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Learn weights from feedback; prints a draft (nothing is published). 中文：从反馈学习权重（草稿）。"""
    with _tuning(data_dir, database_url, index=True) as tuning:
        draft = tuning.fit(name, k=k, eval_set=None if eval_set == "none" else eval_set)
    if out is not None:
        out.write_text(draft.model_dump_json(indent=2), encoding="utf-8")

    def render() -> None:
        c = _console()
        table = Table("", *COMPONENTS, title=f"{name}: draft from {draft.fit.judged_pairs} judged pairs")
        table.add_row("fitted", *_weights_row(draft.weights))
        c.print(table)
        f = draft.fit
        c.print(
            f"NDCG@{k} on feedback: {f.before.ndcg:.3f} → {f.after.ndcg:.3f} (held out by buyer: "
            f"{f.cv_before.ndcg:.3f} → {f.cv_after.ndcg:.3f}); publish with "
            f"`chainmatch weights publish {name} --file <draft.json> --reason ...`"
        )

    _emit(draft, as_json, render)


# -- feedback ----------------------------------------------------------------------------------------
@feedback_app.command("record")
def record(
    event_id: Annotated[str, typer.Option()],
    buyer_id: Annotated[str, typer.Option()],
    supplier_id: Annotated[str, typer.Option()],
    outcome: Annotated[str, typer.Option(help="shown, contacted, met, contracted or rejected")],
    need_id: Annotated[str | None, typer.Option()] = None,
    offer_id: Annotated[str | None, typer.Option()] = None,
    value_cny: Annotated[float | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record one outcome (idempotent by event id). 中文：记录一条反馈。"""
    event = _validated(
        FeedbackEvent,
        {
            "event_id": event_id,
            "buyer_id": buyer_id,
            "need_id": need_id,
            "supplier_id": supplier_id,
            "offer_id": offer_id,
            "outcome": outcome,
            "value_cny": value_cny,
            "reason": reason,
        },
    )
    with _tuning(data_dir, database_url, index=False) as tuning:
        result = tuning.record(event, recorded_by=_author(None))
    typer.echo(f"{'recorded' if result.created else 'already recorded'} {event.event_id} (seq {result.stored.seq})")


@feedback_app.command("import")
def import_feedback(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines, one event a line")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record every valid line; a bad line is reported and never blocks the others. 中文：批量导入反馈。"""
    lines = path.read_text(encoding="utf-8").splitlines()
    created = replayed = 0
    bad: list[str] = []
    with _tuning(data_dir, database_url, index=False) as tuning, Progress(transient=True) as bar:
        task = bar.add_task("recording feedback", total=len(lines))
        for n, line in enumerate(lines, start=1):
            bar.advance(task)
            if not line.strip():
                continue
            try:
                result = tuning.record(FeedbackEvent.model_validate_json(line), recorded_by=_author(None))
            except (ValidationError, ChainmatchError) as exc:
                bad.append(f"line {n}: {_describe(exc)}")
                continue
            created += result.created
            replayed += not result.created
    typer.echo(f"{created} recorded, {replayed} already recorded, {len(bad)} rejected")
    for msg in bad:
        typer.echo(f"  {msg}", err=True)
    if bad:
        raise typer.Exit(1)


@feedback_app.command("list")
def list_feedback(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every recorded event as JSON Lines, in the order received. 中文：列出反馈。"""
    with _tuning(data_dir, database_url, index=False) as tuning:
        for stored in tuning.feedback.all():
            typer.echo(stored.event.model_dump_json())


# -- graph ---------------------------------------------------------------------------------------------
@graph_app.command("suggestions")
def suggestions(
    out: Annotated[Path | None, typer.Option(help="Write the YAML here (default: stdout)")] = None,
    min_support: Annotated[int, typer.Option(min=1, help="Distinct buyers a proposal needs")] = 2,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Graph edits proposed from outcomes, as YAML for review (nothing is applied). 中文：图谱修改建议。"""
    with _tuning(data_dir, database_url, index=True) as tuning:
        text = to_yaml(tuning.suggestions(min_support=min_support))
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


def _validated(model: type[T], data: dict[str, Any]) -> T:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        typer.echo(f"invalid input: {_describe(exc)}", err=True)
        raise typer.Exit(2) from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)
