"""Errors an operator corrects rather than a developer: the message says what and where."""
from __future__ import annotations


class ConfigurationError(ValueError):
    """A configuration file or setting that cannot be used as it is (a source mapping, the
    quality thresholds, the monitoring settings): the message names the file and the field."""


class NothingYet(FileNotFoundError):
    """What a command reads is not there yet (no warehouse, nothing published in the data
    directory): the message names the path and the run that makes it."""


def invalid_fields(exc: Exception) -> str:
    """A validation error as one line per field: ``rules.cancelation: extra inputs are not
    permitted (given 'quantity < 0')``; pydantic's own text adds a web address to every line."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines = []
    for e in errors():
        where = ".".join(str(part) for part in e.get("loc", ()))
        message = str(e.get("msg", "")).removeprefix("Value error, ")
        given = e.get("input")
        shown = f" (given {given!r})" if isinstance(given, (str, int, float)) and len(repr(given)) < 60 else ""
        lines.append(f"{where}: {message}{shown}" if where else message)
    return "\n".join(lines)
