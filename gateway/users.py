"""People (and systems such as a CRM) who use the box; every message records its user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import panel_sessions
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import User, new_id, utcnow
from gateway.passwords import check_new_password, hash_password, one_time_password

ROLES = ("admin", "manager", "agent", "auditor")
MAX_NAME = 64


def check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"a user name is 1 to {MAX_NAME} characters long")
    if not name.isprintable() or name != name.strip():
        raise InvalidInput("a user name is printable, with no leading or trailing space")
    return name


def add_user(session: Session, name: str, role: str) -> User:
    check_name(name)
    if role not in ROLES:
        raise InvalidInput(f"the role is one of {', '.join(ROLES)}")
    if find_user(session, name) is not None:
        raise Conflict("a user with that name exists")
    user = User(id=new_id("usr"), name=name, role=role, disabled=False, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFound("no user with that name")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def issue_one_time_password(session: Session, user: User) -> str:
    """A random password to hand over; it must be changed at the next sign-in, and every
    session the user had ends."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    panel_sessions.end_all(session, user.id)
    return password


def change_password(session: Session, user: User, new: str, keep_session: str | None) -> None:
    check_new_password(new, user.name, user.password_hash)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    panel_sessions.end_all(session, user.id, keep=keep_session)


def first_admin(session: Session) -> tuple[User, str] | None:
    """``smsgw init`` on a box with no administrator: one named "admin", with a one-time
    password (returned once). None where an administrator exists."""
    if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        return None
    name = "admin" if find_user(session, "admin") is None else f"admin-{new_id('x')[-6:]}"
    user = add_user(session, name, "admin")
    return user, issue_one_time_password(session, user)
