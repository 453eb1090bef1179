"""The ``chainmatch`` command line (typer).

Commands are registered on first use: ``chainmatch serve`` then starts without importing the engine,
scikit-learn or the chain-map code (about 2.5 s), so the server answers ``/healthz`` soon after the process
starts; every other command, ``--help`` and typer's test runner see the full command set.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from matching.commands.serve import serve


def _register(app: typer.Typer) -> None:
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
    from matching.commands.weights import feedback_app, graph_app, weights_app

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


class _LazyTyper(typer.Typer):
    """A Typer whose commands are registered when first looked at (see the module docstring)."""

    _loaded = False

    @property
    def registered_commands(self) -> Any:
        self._load()
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: Any) -> None:
        self._commands = value

    @property
    def registered_groups(self) -> Any:
        self._load()
        return self._groups

    @registered_groups.setter
    def registered_groups(self, value: Any) -> None:
        self._groups = value

    def _load(self) -> None:
        if not self._loaded and hasattr(self, "_commands") and hasattr(self, "_groups"):
            self._loaded = True
            _register(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._loaded and sys.argv[1:2] == ["serve"]:
            serve_only = typer.Typer(help=self.info.help, no_args_is_help=True)
            serve_only.callback()(_group)  # keeps ``serve`` a subcommand, as in the full command line
            serve_only.command("serve")(serve)
            return serve_only(*args, **kwargs)
        return super().__call__(*args, **kwargs)


def _group() -> None:
    """chainmatch: cross-region supply-chain matching for the Chengdu–Chongqing circle."""


app = _LazyTyper(help="chainmatch: cross-region supply-chain matching for the Chengdu–Chongqing circle.",
                 no_args_is_help=True)
