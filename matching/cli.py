"""The ``chainmatch`` command line (typer)."""

from __future__ import annotations

import typer

from matching.commands.chainmap import (
    gaps_command,
    map_command,
    recruitment_command,
    targets_command,
    warnings_command,
)
from matching.commands.evaluate import evaluate
from matching.commands.imports import import_file
from matching.commands.index import index_app
from matching.commands.params import params
from matching.commands.runs import lists_app, run, runs_app, schedule
from matching.commands.seeds import seeds_app
from matching.commands.serve import serve
from matching.commands.weights import feedback_app, graph_app, weights_app

app = typer.Typer(help="chainmatch: cross-region supply-chain matching for the Chengdu–Chongqing circle.",
                  no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")
app.add_typer(weights_app, name="weights")
app.add_typer(feedback_app, name="feedback")
app.add_typer(graph_app, name="graph")
app.add_typer(index_app, name="index")
app.command("serve")(serve)
app.command("import")(import_file)
app.command("evaluate")(evaluate)
app.command("params")(params)
app.command("map")(map_command)
app.command("gaps")(gaps_command)
app.command("recruitment")(recruitment_command)
app.command("warnings")(warnings_command)
app.command("targets")(targets_command)
app.command("run")(run)
app.add_typer(runs_app, name="runs")
app.add_typer(lists_app, name="lists")
app.command("schedule")(schedule)
