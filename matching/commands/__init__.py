"""Typer command functions, registered by :mod:`matching.cli`."""
