"""An administrator managing people: nobody locks themselves out, the last admin stays."""

from __future__ import annotations

import pytest

from gateway.app import Gateway
from gateway.audit import Actor, audit_events
from gateway.errors import Conflict, InvalidInput
from gateway.models import PanelSession
from gateway.panel_sessions import start
from gateway.user_admin import (
    LastAdmin,
    OwnAccount,
    add_person,
    reset_password,
    set_disabled,
    set_role,
    turn_off_own_two_factor,
)
from gateway.users import add_user

CLI = Actor("cli", "admin")


def test_it_keeps_the_last_enabled_admin(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        only = add_user(session, "boss", "admin")
        with pytest.raises(LastAdmin):
            set_role(session, CLI, only, "manager")
        with pytest.raises(LastAdmin):
            set_disabled(session, CLI, only, True)
        other = add_user(session, "deputy", "admin")
        set_disabled(session, CLI, other, True)
        # A disabled administrator does not count.
        with pytest.raises(LastAdmin):
            set_disabled(session, CLI, only, True)
        set_disabled(session, CLI, other, False)
        assert set_role(session, CLI, only, "manager")
        assert only.role == "manager"


def test_an_admin_cannot_demote_or_disable_themselves(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        me = add_user(session, "me", "admin")
        add_user(session, "you", "admin")
        actor = Actor(me.id, "admin")
        with pytest.raises(OwnAccount):
            set_role(session, actor, me, "agent")
        with pytest.raises(OwnAccount):
            set_disabled(session, actor, me, True)
        assert not set_role(session, actor, me, "admin")  # no change, no refusal
        with pytest.raises(InvalidInput):
            set_role(session, actor, me, "root")


def test_disabling_ends_sessions_and_everything_is_audited(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        person, password = add_person(session, CLI, "sam", "agent")
        assert person.must_change_password and len(password) > 12
        start(session, person, "signed_in")
        assert set_disabled(session, CLI, person, True)
        assert session.query(PanelSession).filter_by(user_id=person.id).count() == 0
        assert not set_disabled(session, CLI, person, True)
        reset_password(session, CLI, person, two_factor=True)
        session.commit()
        actions = [e.action for e in audit_events(session, subject=person.id)]
    assert actions == ["user.password_reset", "user.disabled", "user.added"]


def test_admins_keep_two_factor_others_may_turn_it_off(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        admin = add_user(session, "root", "admin")
        agent = add_user(session, "sam", "agent")
        admin.totp_secret_enc = agent.totp_secret_enc = b"x"
        with pytest.raises(InvalidInput):
            turn_off_own_two_factor(session, admin)
        turn_off_own_two_factor(session, agent)
        assert agent.totp_secret_enc is None
        with pytest.raises(Conflict):
            turn_off_own_two_factor(session, agent)
