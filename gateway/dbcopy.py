"""Moving a box's data from its embedded SQLite file to PostgreSQL (``smsgw db copy``).

Rows are copied as they are: ciphertexts stay valid because they are bound to their table,
column and row id, not to the database, and the master key does not change. The target gets
the schema from the migrations first (with the append-only triggers), must hold no data,
and its id sequences are moved past the copied ids at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, func, select, text, update

from gateway.errors import GatewayError
from gateway.models import Base
from gateway.store import migrate

BATCH = 1000


class CopyRefused(GatewayError):
    code = "copy_refused"


@dataclass(frozen=True)
class Copied:
    tables: dict[str, int]  # rows per table

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def copy_database(
    source: Engine, target: Engine, progress: Callable[[str, int], None] | None = None
) -> Copied:
    """Copy every table of ``source`` into ``target`` (migrated here; must hold no data)."""
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    migrate(target)
    tables = Base.metadata.sorted_tables  # parents before children
    with target.connect() as connection:
        for table in tables:
            if connection.execute(select(func.count()).select_from(table)).scalar():
                raise CopyRefused(
                    f"the target already holds data (table {table.name}): copy into an empty "
                    "database"
                )
    counts: dict[str, int] = {}
    # One read transaction on the source: a consistent picture even if something writes
    # (stop the worker and the web server first all the same).
    with source.connect() as reader, target.begin() as writer:
        for table in tables:
            selfrefs = _self_references(table)
            pending: list[dict[str, object]] = []
            copied = 0
            result = reader.execution_options(yield_per=BATCH).execute(select(table))
            for chunk in result.mappings().partitions(BATCH):
                rows = [dict(row) for row in chunk]
                # A row may point at one inserted later in the same table (a user's
                # delegate): those links are set once the rows are in.
                links: list[dict[str, object]] = []
                if selfrefs:
                    links = [
                        {"_pk": _pk(table, row), **{c: row[c] for c in selfrefs}} for row in rows
                    ]
                    for row in rows:
                        for column in selfrefs:
                            row[column] = None
                writer.execute(table.insert(), rows)
                copied += len(rows)
                pending.extend(link for link in links if any(link[c] for c in selfrefs))
            for link in pending:
                key: dict[str, object] = link["_pk"]  # type: ignore[assignment]
                writer.execute(
                    update(table)
                    .where(*[table.c[name] == value for name, value in key.items()])
                    .values({c: link[c] for c in selfrefs})
                )
            counts[table.name] = copied
            if progress is not None:
                progress(table.name, copied)
        if target.dialect.name == "postgresql":
            _advance_sequences(writer, tables)
    return Copied(counts)


def _pk(table: Table, row: dict[str, object]) -> dict[str, object]:
    return {column.name: row[column.name] for column in table.primary_key.columns}


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Integer ids came from SQLite: PostgreSQL's sequences must continue after them."""
    for table in tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence(:table, :column), "
                        f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                    ),
                    {"table": table.name, "column": column.name},
                )
