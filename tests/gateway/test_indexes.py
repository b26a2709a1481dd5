"""The queries that lists, the dashboard and /metrics run stay fast with years of messages:
each reads through an index (EXPLAIN QUERY PLAN on the schema the migrations build)
instead of scanning or sorting the whole archive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from gateway.app import Gateway
from gateway.archive import list_messages
from gateway.lines import line_statuses
from gateway.metrics import render
from gateway.sending import claim_next

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# Tables that grow with the years; a plan step over one of them must use an index.
ARCHIVE = ("messages", "message_events", "webhook_deliveries")


class Plans:
    """Every statement the gateway runs meanwhile, with SQLite's plan for it."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.statements: list[tuple[str, Any]] = []

    def record(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("EXPLAIN"):
            self.statements.append((statement, params))

    def plans(self) -> list[tuple[str, list[str]]]:
        out = []
        with self.gateway.engine.connect() as connection:
            for statement, params in self.statements:
                if "messages" not in statement and "webhook_deliveries" not in statement:
                    continue
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                out.append((statement, [row[3] for row in rows]))
        return out


@pytest.fixture
def plans(gateway: Gateway) -> Iterator[Callable[[Callable[[], Any]], list[list[str]]]]:
    def run(action: Callable[[], Any]) -> list[list[str]]:
        recorder = Plans(gateway)
        event.listen(gateway.engine, "before_cursor_execute", recorder.record)
        try:
            action()
        finally:
            event.remove(gateway.engine, "before_cursor_execute", recorder.record)
        found = recorder.plans()
        assert found, "no statement on the archive was run"
        return [steps for _, steps in found]

    yield run


def assert_indexed(steps: list[str], *, sorted_ok: bool = False) -> None:
    for step in steps:
        for table in ARCHIVE:
            if step.startswith(f"SCAN {table}") and "USING" not in step:
                raise AssertionError(f"full scan of {table}: {steps}")
        # "RIGHT PART OF ORDER BY" only orders rows within one timestamp: that is fine.
        if step == "USE TEMP B-TREE FOR ORDER BY" and not sorted_ok:
            raise AssertionError(f"sorts every matching row: {steps}")


FILTERS = {
    "newest first": {},
    "by status": {"status": "delivered"},
    "by direction": {"direction": "in"},
    "by line": {"line": "Front desk"},
    "since": {"since": NOW},
    "between": {"since": NOW, "until": NOW},
}


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_it_lists_messages_through_an_index(gateway: Gateway, plans: Any, filters: Any) -> None:
    with gateway.sessions() as session:
        for steps in plans(lambda: list_messages(session, gateway.vault, **filters)):
            assert_indexed(steps)


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_it_reads_a_later_page_by_range_not_by_scanning_the_pages_before(
    gateway: Gateway, plans: Any, filters: Any
) -> None:
    cursor = (NOW, "msg_01J0000000000000000000000")
    with gateway.sessions() as session:
        found = plans(lambda: list_messages(session, gateway.vault, before=cursor, **filters))
    for steps in found:
        assert_indexed(steps)
    messages = [step for steps in found for step in steps if " messages " in f"{step} "]
    assert any(step.startswith("SEARCH messages") and "created_at<" in step for step in messages)


def test_it_lists_one_customer_s_messages_through_their_contact(
    gateway: Gateway, plans: Any
) -> None:
    with gateway.sessions() as session:
        found = plans(lambda: list_messages(session, gateway.vault, number="+12015550123"))
    for steps in found:
        # One customer's messages are few: sorting them is cheap, scanning everyone's is not.
        assert_indexed(steps, sorted_ok=True)
        assert any("ix_messages_contact_id" in step for step in steps), steps


def test_it_counts_line_queues_through_an_index(gateway: Gateway, plans: Any) -> None:
    with gateway.sessions() as session:
        for steps in plans(lambda: line_statuses(session)):
            assert_indexed(steps)


def test_it_claims_the_next_message_through_the_queue_index(gateway: Gateway, plans: Any) -> None:
    def claim() -> None:
        with gateway.engine.connect() as connection:
            claim_next(connection, "test", "ln_1", NOW)
            connection.rollback()

    for steps in plans(claim):
        assert_indexed(steps)
        assert any("ix_messages_queue" in step for step in steps), steps


def test_it_scrapes_metrics_without_reading_the_whole_archive(gateway: Gateway, plans: Any) -> None:
    for steps in plans(lambda: render(gateway.engine, now=NOW)):
        assert_indexed(steps)
