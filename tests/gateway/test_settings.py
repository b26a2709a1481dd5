"""Settings changed in the panel: checked by the config file's rules, saved over the file's
values, reset to them, audited by name only, and used by a running box at once: the worker's
next away reply or STOP confirmation, marketing's quiet hours, a line's opening hours."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.app import Gateway
from gateway.audit import Actor, audit_events
from gateway.business_hours import save_line_hours
from gateway.compliance import box_zone, window
from gateway.config import Config, InboxConfig, RetentionConfig
from gateway.models import AuditEvent, Line, Message, Setting, utcnow
from gateway.settings import (
    SettingRefused,
    SettingsCache,
    SettingsRefused,
    changes,
    current,
    effective,
    overrides,
    reset,
    save,
    save_changed,
)
from gateway.users import add_user
from tests.gateway.conftest import Rig, wait_until
from tests.gateway.inbox_fixtures import add_lines, inbound

ADMIN = Actor("us_admin", "admin")
NEW_AWAY = "{business}: closed for stocktaking today, back tomorrow."
CUSTOMER = "+12015550199"


@pytest.fixture
def config(config: Config) -> Config:
    consent = dataclasses.replace(config.consent, business_name="Dental Care")
    return dataclasses.replace(
        config,
        consent=consent,
        inbox=InboxConfig(away_reply="{business}: we are away."),
        retention=RetentionConfig(body_days=400),
    )


def staffed_closed_line(gateway: Gateway) -> None:
    """Line 1 with one agent working the inbox, closed yesterday, today and tomorrow."""
    add_lines(gateway, ("ln_1", "Line 1"))
    with gateway.sessions() as session:
        add_user(session, "ana", "agent")
        save_line_hours(session, "ln_1", "daily 00:00-24:00", around_today(), ADMIN)
        session.commit()
    gateway.office.invalidate()


def around_today() -> str:
    today = datetime.now(ZoneInfo(box_zone())).date()
    return f"{today - timedelta(days=1)}, {today}, {today + timedelta(days=1)}"


def texts_sent_to(gateway: Gateway, contact_id: str) -> list[str]:
    with gateway.sessions() as session:
        found = session.scalars(
            select(Message)
            .where(Message.contact_id == contact_id, Message.direction == "out")
            .order_by(Message.created_at)
        )
        return [gateway.vault.decrypt(m.body_enc, "messages", "body", m.id) for m in found]


def test_it_saves_a_value_over_the_files_and_resets_it(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        assert save(session, "inbox.away_reply", NEW_AWAY, ADMIN) == NEW_AWAY
        assert save(session, "retention.body_days", "30", ADMIN) == 30  # a form's text
        session.commit()
    with gateway.sessions() as session:
        assert overrides(session) == {"inbox.away_reply": NEW_AWAY, "retention.body_days": 30}
        found = changes(session)
        assert found["inbox.away_reply"].updated_by == ADMIN.id
        in_effect = current(session, gateway.config)
        assert in_effect.inbox.away_reply == NEW_AWAY
        assert in_effect.retention.body_days == 30
        assert in_effect.inbox.signature == gateway.config.inbox.signature  # not overridden
        assert reset(session, "inbox.away_reply", ADMIN) is True
        assert reset(session, "inbox.away_reply", ADMIN) is False  # nothing left to reset
        session.commit()
    with gateway.sessions() as session:
        in_effect = current(session, gateway.config)
        assert in_effect.inbox.away_reply == "{business}: we are away."  # the file's again
        assert in_effect.retention.body_days == 30


def test_it_puts_panel_values_over_the_file_and_leaves_the_rest(config: Config) -> None:
    assert effective(config, {}) is config
    changed = effective(config, {"consent.quiet_start": "09:30", "inbox.silence_minutes": 5.0})
    assert changed.consent.quiet_start == "09:30" and changed.inbox.silence_minutes == 5.0
    assert changed.consent.business_name == "Dental Care"  # from the file
    assert changed.consent.quiet_end == config.consent.quiet_end
    assert changed.data_dir == config.data_dir and changed.source == config.source
    assert config.consent.quiet_start == "08:00"  # the file's config is left as it was


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("consent.quiet_start", "25:00", "must be a time of day HH:MM"),
        ("consent.quiet_end", "9pm", "must be a time of day HH:MM"),
        ("retention.consent_years", "4", "must be between 5 and 100"),
        ("retention.body_days", "1e3", "expected an integer"),
        ("retention.body_days", "²", "expected an integer"),
        ("inbox.away_reply_hours", "nan", "expected a number"),
        ("inbox.away_reply_hours", "-1", "must be between 0 and 720"),
        ("inbox.away_reply", "", "must be 1 to 320 characters"),
        ("inbox.away_reply", "x" * 321, "must be 1 to 320 characters"),
        ("inbox.away_reply", "x" * 100_000, "must be at most 4096 characters"),
        ("inbox.away_reply", "two\nlines", "must not contain control characters"),
        ("consent.opt_out_reply", "You are out \u202e", "must be printable characters"),
        ("consent.help_reply", "{busines}: reply HELP", "the placeholders it may use are"),
        ("inbox.signature", "- {agent} {name}", "{agent}, {business}, {line}"),
        ("web.bind", "0.0.0.0:80", "is not a setting the panel can change"),
    ],
)
def test_it_refuses_what_the_config_file_would_refuse(
    gateway: Gateway, key: str, value: str, reason: str
) -> None:
    with gateway.sessions() as session:
        with pytest.raises(SettingRefused) as refused:
            save(session, key, value, ADMIN)
        session.commit()
        assert reason in refused.value.reason
        assert value[:50] not in refused.value.reason or len(value) < 10
        assert session.scalars(select(Setting)).all() == []
        assert session.scalars(select(AuditEvent)).all() == []


def test_it_saves_a_form_all_or_nothing_and_only_what_changed(gateway: Gateway) -> None:
    config = gateway.config
    with gateway.sessions() as session:
        with pytest.raises(SettingsRefused) as refused:
            save_changed(
                session,
                config,
                {"consent.quiet_start": "07:00", "consent.quiet_end": "late"},
                ADMIN,
            )
        assert list(refused.value.reasons) == ["consent.quiet_end"]
        session.commit()
        assert overrides(session) == {}
        form = {"consent.quiet_start": "07:00", "consent.quiet_end": config.consent.quiet_end}
        assert save_changed(session, config, form, ADMIN) == ["consent.quiet_start"]
        session.commit()
        assert overrides(session) == {"consent.quiet_start": "07:00"}
        assert window(current(session, config)).start.hour == 7


def test_it_audits_a_change_by_the_settings_name_without_its_text(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        save(session, "consent.opt_out_reply", "Unsubscribed from Dr Who's list.", ADMIN)
        reset(session, "consent.opt_out_reply", ADMIN)
        session.commit()
        events = audit_events(session)
    assert [(e.action, e.actor, e.detail) for e in events] == [
        ("settings.reset", ADMIN.id, "consent.opt_out_reply"),
        ("settings.changed", ADMIN.id, "consent.opt_out_reply"),
    ]
    for event in events:
        assert "Who" not in f"{event.subject} {event.detail}"


def test_it_uses_the_files_value_when_a_stored_one_no_longer_passes(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        for key, value in (
            ("retention.consent_years", "2"),  # below the minimum: a hand-edited row
            ("inbox.away_reply", "{"),  # not JSON
            ("web.bind", '"0.0.0.0:1"'),  # never editable here
        ):
            session.add(Setting(key=key, value=value, updated_at=utcnow(), updated_by=None))
        session.commit()
        assert overrides(session) == {}
        assert current(session, gateway.config) is gateway.config


def test_it_sees_a_change_saved_in_this_process_at_the_next_call(gateway: Gateway) -> None:
    config = gateway.config
    with gateway.sessions() as reader:
        first = current(reader, config)
        assert first is config and current(reader, first) is config
        reader.commit()
        with gateway.sessions() as writer:
            save(writer, "inbox.away_reply", NEW_AWAY, ADMIN)
            writer.commit()
        second = current(reader, config)
        assert second.inbox.away_reply == NEW_AWAY
        assert current(reader, second) is second  # given the effective one: the same
        reader.commit()
        with gateway.sessions() as writer:
            reset(writer, "inbox.away_reply", ADMIN)
            writer.commit()
        # Even handed the panel's config, the reset shows: it goes back to the file's.
        assert current(reader, second) is config


def test_it_sees_a_change_made_by_another_process_within_its_recheck_time(
    gateway: Gateway,
) -> None:
    clock = [100.0]
    cache = SettingsCache(seconds=2.0, clock=lambda: clock[0])
    config = gateway.config
    with gateway.sessions() as reader:
        assert cache.get(reader, config) is config
        reader.commit()
        with gateway.sessions() as other:  # the panel's process: this cache is not told
            value = json.dumps(NEW_AWAY)
            other.add(Setting(key="inbox.away_reply", value=value, updated_at=utcnow()))
            other.commit()
        clock[0] += 1.9
        assert cache.get(reader, config) is config  # not checked again yet
        reader.commit()
        clock[0] += 0.2
        changed = cache.get(reader, config)
        assert changed.inbox.away_reply == NEW_AWAY
        reader.commit()
        clock[0] += 5
        assert cache.get(reader, config) is changed  # the same rows: nothing rebuilt


def test_it_sends_the_away_text_saved_in_the_panel_with_the_next_away_reply(
    gateway: Gateway,
) -> None:
    staffed_closed_line(gateway)
    before = inbound(gateway, "+12015550101", "Hello?", "ln_1")
    assert texts_sent_to(gateway, before.contact_id) == ["Dental Care: we are away."]
    with gateway.sessions() as session:
        save(session, "inbox.away_reply", NEW_AWAY, ADMIN)
        save(session, "consent.business_name", "Bay Dental", ADMIN)
        session.commit()
    after = inbound(gateway, "+12015550102", "Hello?", "ln_1")
    assert texts_sent_to(gateway, after.contact_id) == [
        "Bay Dental: closed for stocktaking today, back tomorrow."
    ]


def test_it_confirms_a_stop_with_the_text_saved_in_the_panel(gateway: Gateway) -> None:
    add_lines(gateway, ("ln_1", "Line 1"))
    with gateway.sessions() as session:
        save(session, "consent.opt_out_reply", "{business}: no more texts. START undoes it.", ADMIN)
        session.commit()
    stopped = inbound(gateway, "+12015550103", "STOP", "ln_1")
    assert texts_sent_to(gateway, stopped.contact_id) == [
        "Dental Care: no more texts. START undoes it."
    ]


def test_it_routes_by_the_opening_hours_saved_in_the_panel(gateway: Gateway) -> None:
    staffed_closed_line(gateway)
    closed = inbound(gateway, "+12015550104", "Open?", "ln_1")
    assert texts_sent_to(gateway, closed.contact_id) == ["Dental Care: we are away."]
    with gateway.sessions() as session:
        assert save_line_hours(session, "ln_1", "daily 00:00-24:00", "", ADMIN) == ["holidays"]
        session.commit()
    gateway.office.invalidate()  # the worker's snapshot would see it within seconds
    opened = inbound(gateway, "+12015550105", "Open?", "ln_1")
    assert texts_sent_to(gateway, opened.contact_id) == []  # open, Ana is in: no away reply
    with gateway.sessions() as session:
        events = audit_events(session, action="settings.changed", subject="ln_1")
    assert [e.detail for e in events] == ["lines.holidays", "lines.holidays", "lines.hours"]


def test_it_refuses_opening_hours_field_by_field_and_keeps_the_old_ones(
    gateway: Gateway,
) -> None:
    add_lines(gateway, ("ln_1", "Line 1"))
    with gateway.sessions() as session:
        save_line_hours(session, "ln_1", "mon-fri 09:00-17:00", "2026-12-25", ADMIN)
        session.commit()
        with pytest.raises(SettingsRefused) as refused:
            save_line_hours(session, "ln_1", "mon-fri 09:00-25:00", "Christmas", ADMIN)
        assert set(refused.value.reasons) == {"hours", "holidays"}
        assert "YYYY-MM-DD" in refused.value.reasons["holidays"]
        session.rollback()
        line_hours = session.execute(select(Setting)).all()
        assert line_hours == []  # hours live on the line, not in the settings table
        line = session.get(Line, "ln_1")
        assert line is not None
        assert (line.hours, line.holidays) == ("mon-fri 09:00-17:00", "2026-12-25")


def test_it_gives_a_running_worker_the_new_away_text_without_a_restart(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    with gateway.sessions() as session:
        add_user(session, "ana", "agent")
        line_id = session.scalar(select(Line.id).where(Line.name == "Line 1"))
        assert line_id is not None
        save_line_hours(session, line_id, "daily 00:00-24:00", around_today(), ADMIN)
        save(session, "inbox.away_reply", NEW_AWAY, ADMIN)
        session.commit()
    rig.gateway.office.invalidate()
    rig.bank[0].inject(CUSTOMER, "Hello?")
    expected = "Dental Care: closed for stocktaking today, back tomorrow."
    wait_until(
        lambda: [p.text for p in rig.bank[0].outbox() if p.recipient == CUSTOMER] == [expected],
        what="the away reply with the panel's text",
    )


def test_it_stores_values_as_json(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        save(session, "inbox.away_reply_hours", "1.5", ADMIN)
        session.commit()
        row = session.get(Setting, "inbox.away_reply_hours")
        assert row is not None and json.loads(row.value) == 1.5
