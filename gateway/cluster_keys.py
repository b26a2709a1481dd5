"""Every box of a cluster needs the same master key: ``smsgw init`` against a database that
already holds data keys must not make a new one (it could unwrap none of them), and a key
file that is not the database's is refused before anything is written with it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, inspect, select

from gateway.models import DataKeyRow

JOIN_HELP = """\
The database at {where} already holds data keys wrapped by master key {fingerprint}, and
this box has no master key file ({path}). A new key could read none of the data, so none
was made. Every box sharing the database needs that same key. Copy it over from a box that
has it, keeping it private (the file is the key to every message):

    scp root@FIRST-BOX:/var/lib/smsgw/master.key {path}
    chown smsgw:smsgw {path} && chmod 0600 {path}

then run `smsgw init` again. `smsgw doctor` on both boxes shows the same fingerprint."""

WRONG_HELP = """\
The master key {path} (fingerprint {mine}) is not the one the database at {where} uses
(data keys wrapped by {fingerprint}). Nothing was changed. If this box joins a cluster,
replace the file with the cluster's master key (see `smsgw init` in the README, "Several
boxes, one queue"); if the database is the wrong one, fix database.url."""


def database_fingerprints(engine: Engine) -> set[str]:
    """The fingerprints of the master keys that wrapped the database's live data keys
    (none for a new database, or one whose schema is not there yet)."""
    if not inspect(engine).has_table("data_keys"):
        return set()
    with engine.connect() as connection:
        rows = connection.execute(
            select(DataKeyRow.master_fingerprint, func.count())
            .where(DataKeyRow.wrapped.is_not(None))
            .group_by(DataKeyRow.master_fingerprint)
        ).all()
    return {fingerprint for fingerprint, _count in rows}


def joining_message(fingerprints: set[str], where: str, path: Path) -> str:
    return JOIN_HELP.format(where=where, fingerprint=", ".join(sorted(fingerprints)), path=path)


def mismatch_message(fingerprints: set[str], mine: str, where: str, path: Path) -> str | None:
    """Why this key does not fit the database, or None when it does. A rotation in
    progress leaves two fingerprints; the key fits when it is one of them."""
    if not fingerprints or mine in fingerprints:
        return None
    return WRONG_HELP.format(
        path=path, mine=mine, where=where, fingerprint=", ".join(sorted(fingerprints))
    )
