"""The SQL a source mapping may carry (computed columns and the cancellation and product rules),
and where it runs.

A mapping's SQL is a trust boundary: whoever writes a mapping writes code that runs on every
day's rows. It is held to one SQL expression: no statement, no subquery, no table function (so no
`read_csv`, `read_text` or `COPY`), checked by DuckDB's own parser when the mapping is loaded.
Computed columns then run on a sandbox connection (in memory, file system access disabled and
the setting locked) that sees nothing but the file being read. The rules run in dbt's staging
model over the warehouse, where an expression of that shape can neither modify a table nor reach
a file.
"""
from __future__ import annotations

import json

import duckdb

# the canonical columns as dbt's staging model types them: the rules are bound against these
CANONICAL_TYPES = {
    "order_id": "VARCHAR", "customer_id": "VARCHAR", "item_id": "VARCHAR",
    "item_name": "VARCHAR", "category": "VARCHAR", "quantity": "BIGINT",
    "unit_price": "DOUBLE", "ordered_at": "TIMESTAMP", "store": "VARCHAR",
}
_FORBIDDEN = {"SUBQUERY": "a subquery", "TABLE_FUNCTION": "a table function",
              "WINDOW": "a window function"}


class UnsafeExpression(ValueError):
    """A mapping's SQL that is not one plain expression."""


def quoted(identifier: str) -> str:
    """A column name as a DuckDB identifier, whatever characters it holds."""
    return '"' + identifier.replace('"', '""') + '"'


def sandbox() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can neither read nor write files, and cannot be told to."""
    return duckdb.connect(config={"threads": 1, "enable_external_access": False,
                                  "lock_configuration": True})


def check_expression(sql: str) -> str:
    """``sql`` unchanged if it is a single SQL expression without subqueries or table
    functions; UnsafeExpression saying what it is otherwise."""
    if not sql.strip():
        raise UnsafeExpression("the expression is empty")
    con = sandbox()
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)",
                                      [f"SELECT ({sql}) AS value"]).fetchone()[0])
    finally:
        con.close()
    if tree.get("error"):
        raise UnsafeExpression(f"not one SQL expression ({tree.get('error_message')})")
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if (len(statements) != 1 or node.get("type") != "SELECT_NODE"
            or node["from_table"].get("type") != "EMPTY" or len(node["select_list"]) != 1
            or node.get("where_clause") or node.get("cte_map", {}).get("map")):
        raise UnsafeExpression("not one SQL expression (it reads as a statement or a query)")
    found = _forbidden(node["select_list"][0])
    if found:
        raise UnsafeExpression(f"{found} is not allowed in a mapping's expression")
    return sql


def _forbidden(tree) -> str | None:
    if isinstance(tree, dict):
        for key in ("class", "type"):
            if isinstance(tree.get(key), str) and tree[key] in _FORBIDDEN:
                return _FORBIDDEN[tree[key]]
        tree = list(tree.values())
    if isinstance(tree, list):
        for child in tree:
            found = _forbidden(child)
            if found:
                return found
    return None


def check_rule(sql: str) -> str:
    """A rule: one expression that binds over the canonical columns and reads as a boolean."""
    check_expression(sql)
    columns = ", ".join(f"CAST(NULL AS {t}) AS {name}" for name, t in CANONICAL_TYPES.items())
    con = sandbox()
    try:
        con.execute(f"SELECT CAST(({sql}) AS BOOLEAN) FROM (SELECT {columns}) LIMIT 0")
    except duckdb.Error as exc:
        raise UnsafeExpression(f"does not apply to the canonical columns "
                               f"{sorted(CANONICAL_TYPES)}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return sql
