"""MatchParams: every constant has a reason, the CLI prints them, and the engine reads them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from matching.cli import app
from matching.params import DEFAULT_PARAMS, MatchParams


def test_every_parameter_has_a_reason() -> None:
    missing = [name for name, f in MatchParams.model_fields.items() if not (f.description or "").strip()]
    assert not missing


def test_params_command_prints_the_defaults() -> None:
    result = CliRunner().invoke(app, ["params", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == DEFAULT_PARAMS.model_dump()
    table = CliRunner().invoke(app, ["params"], terminal_width=160)
    assert table.exit_code == 0 and "relation_input_2hop" in table.output and "reason" in table.output


def test_params_are_frozen_and_validated() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        MatchParams(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        DEFAULT_PARAMS.relation_same = 0.5  # type: ignore[misc]
