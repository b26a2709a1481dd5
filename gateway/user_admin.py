"""An administrator managing people: adding them, new one-time passwords, roles, disabling.

The rules the command line leaves to whoever holds the box's shell, and the panel must
enforce: an administrator cannot lock themselves out (demote or disable their own account),
and the last enabled administrator stays one, so the box always has someone who can manage
it. Each change is audited in its own transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway import panel_sessions
from gateway.audit import Actor, audit
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import RecoveryCode, User, utcnow
from gateway.users import ROLES, add_user, issue_one_time_password


class OwnAccount(Conflict):
    code = "own_account"


class LastAdmin(Conflict):
    code = "last_admin"


def get_user_by_id(session: Session, user_id: str) -> User:
    user = session.get(User, user_id[:40]) if isinstance(user_id, str) else None
    if user is None:
        raise NotFound("no user with that id")
    return user


def enabled_admins(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.disabled.is_(False))
        )
        or 0
    )


def _keep_an_admin(session: Session, actor: Actor, user: User, what: str) -> None:
    if user.id == actor.id:
        raise OwnAccount(f"you cannot {what} your own account; ask another administrator")
    if user.role == "admin" and not user.disabled and enabled_admins(session) <= 1:
        raise LastAdmin(f"you cannot {what} the last enabled administrator")


def add_person(session: Session, actor: Actor, name: str, role: str) -> tuple[User, str]:
    """A new user and their one-time password (returned here, never again)."""
    user = add_user(session, name, role)
    password = issue_one_time_password(session, user)
    audit(session, actor, "user.added", user.id, f"role {role}")
    return user, password


def set_role(session: Session, actor: Actor, user: User, role: str) -> bool:
    """Change ``user``'s role; False when it already was that. Takes effect at their next
    request (sessions read the role each time)."""
    if role not in ROLES:
        raise InvalidInput(f"the role is one of {', '.join(ROLES)}")
    if role == user.role:
        return False
    if user.role == "admin":
        _keep_an_admin(session, actor, user, "demote")
    audit(session, actor, "user.role_changed", user.id, f"{user.role} to {role}")
    user.role = role
    return True


def set_disabled(session: Session, actor: Actor, user: User, disabled: bool) -> bool:
    """Disable (signed out everywhere; their API keys stop working) or enable ``user``."""
    if bool(user.disabled) == disabled:
        return False
    if disabled:
        _keep_an_admin(session, actor, user, "disable")
        panel_sessions.end_all(session, user.id)
    user.disabled = disabled
    audit(session, actor, "user.disabled" if disabled else "user.enabled", user.id)
    return True


def reset_password(session: Session, actor: Actor, user: User, *, two_factor: bool = False) -> str:
    """A new one-time password for ``user`` (signed out everywhere), optionally without
    two-factor sign-in, which they set up again (administrators must) at the next sign-in."""
    password = issue_one_time_password(session, user)
    if two_factor:
        remove_two_factor(session, user)
    detail = "with two-factor sign-in removed" if two_factor else None
    audit(session, actor, "user.password_reset", user.id, detail)
    return password


def remove_two_factor(session: Session, user: User) -> None:
    user.totp_secret_enc, user.totp_last_step = None, None
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )


def turn_off_own_two_factor(session: Session, user: User) -> None:
    """A user turning two-factor sign-in off; administrators must keep it."""
    if user.role == "admin":
        raise InvalidInput("administrators must keep two-factor sign-in")
    if user.totp_secret_enc is None:
        raise Conflict("two-factor sign-in is already off")
    remove_two_factor(session, user)
    audit(session, Actor(user.id, user.role), "user.two_factor_off", user.id)
