"""Many contacts' data keys unwrapped with one query, as a name search needs them."""

from __future__ import annotations

import pytest

from gateway.app import Gateway
from gateway.contacts import find_or_create_contact
from gateway.crypto import CryptoError
from gateway.models import Contact
from gateway.vault import Vault


def test_it_unwraps_many_keys_at_once_and_leaves_destroyed_ones_to_report(
    gateway: Gateway,
) -> None:
    with gateway.sessions() as session:
        contacts = [
            find_or_create_contact(session, gateway.vault, f"+1201555{i:04d}") for i in range(3)
        ]
        session.flush()
        key_ids = [session.get(Contact, c.id).key_id for c in contacts]  # type: ignore[union-attr]
        session.commit()
        gateway.vault.destroy(session, key_ids[2])
        session.commit()
    fresh = Vault(gateway.vault.master, gateway.sessions)  # a new process's empty keyring
    assert fresh.keyring.missing(key_ids) == sorted(key_ids)
    with gateway.sessions() as session:
        fresh.preload(session, key_ids)
    assert fresh.keyring.missing(key_ids) == [key_ids[2]]
    assert fresh.keyring.get(key_ids[0]).key == gateway.vault.keyring.get(key_ids[0]).key
    with pytest.raises(CryptoError, match="destroyed"):
        fresh.keyring.get(key_ids[2])
