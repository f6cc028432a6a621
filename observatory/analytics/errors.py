"""The error a snapshot that cannot be read raises, shared by the engine facade and the indicator modules (which
must not import the facade: it imports them)."""

from __future__ import annotations


class AnalyticsError(RuntimeError):
    """The snapshot cannot be read; the message names the file."""


def one_line(exc: Exception) -> str:
    """The first line of an exception's message (DuckDB's are long), or its class name."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
