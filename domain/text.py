"""Text from outside (a file's bytes, a database's message quoting them) made safe to show: in a
ledger row, a log line or a report, only printable characters and only a little of it."""
from __future__ import annotations


def printable(text: str, limit: int = 300) -> str:
    """``text`` with every non-printable character escaped (``\\x00``, ``\\x1b``...; line breaks
    and tabs kept) and cut to ``limit`` characters, saying how much was left out."""
    safe = "".join(ch if ch.isprintable() or ch in "\n\t" else ascii(ch)[1:-1] for ch in text)
    if len(safe) <= limit:
        return safe
    return f"{safe[:limit]}... ({len(safe) - limit:,} more characters)"


def excerpt(text: str, limit: int = 40) -> str:
    """A short quoted excerpt of a file's content for an error message: one line, escaped."""
    return repr(printable(text.replace("\n", " "), limit))
