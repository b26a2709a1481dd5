"""Encryption at rest: field ciphertexts, wrapped data keys, the master key file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.crypto import (
    CryptoError,
    DataKey,
    Keyring,
    MasterKey,
    blind_index,
    create_master_key,
    decrypt_field,
    encrypt_field,
    key_fingerprint,
    key_id_of,
    load_master_key,
    new_data_key,
    unwrap_key,
    wrap_key,
)

PLACE = {"table": "messages", "column": "body", "row_id": "42"}
SECRET_TEXT = "meet me at the old mill, PIN 4711"


@pytest.fixture
def data_key() -> DataKey:
    return DataKey(7, new_data_key())


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(new_data_key())


def keys_of(*data_keys: DataKey):
    by_id = {k.id: k for k in data_keys}

    def keys(key_id: int) -> DataKey:
        try:
            return by_id[key_id]
        except KeyError:
            raise CryptoError(f"data key {key_id} was destroyed") from None

    return keys


def write_key_file(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(content)
    path.chmod(mode)
    return path


# Field encryption


@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_it_round_trips_any_text(text: str) -> None:
    data_key = DataKey(3, bytes(range(32)))
    blob = encrypt_field(data_key, text, **PLACE)
    assert decrypt_field(keys_of(data_key), blob, **PLACE) == text


@pytest.mark.parametrize("text", ["", "héllo", "😀 astral 𝄞", "\x00", "a" * 10_000])
def test_it_round_trips_edge_cases(data_key: DataKey, text: str) -> None:
    blob = encrypt_field(data_key, text, **PLACE)
    assert decrypt_field(keys_of(data_key), blob, **PLACE) == text


def test_it_lays_out_version_key_id_nonce_ciphertext(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "abc", **PLACE)
    assert blob[0] == 1
    assert blob[1:5] == (7).to_bytes(4, "big")
    assert len(blob) == 1 + 4 + 12 + 3 + 16
    assert key_id_of(blob) == 7


def test_it_never_repeats_a_ciphertext(data_key: DataKey) -> None:
    blobs = {encrypt_field(data_key, "same text", **PLACE) for _ in range(100)}
    assert len(blobs) == 100
    assert len({blob[5:17] for blob in blobs}) == 100


@pytest.mark.parametrize(
    "place",
    [
        {**PLACE, "table": "contacts"},
        {**PLACE, "column": "number"},
        {**PLACE, "row_id": "43"},
        {**PLACE, "row_id": "042"},
    ],
)
def test_it_refuses_a_ciphertext_moved_to_another_place(data_key: DataKey, place) -> None:
    blob = encrypt_field(data_key, SECRET_TEXT, **PLACE)
    with pytest.raises(CryptoError):
        decrypt_field(keys_of(data_key), blob, **place)


def test_it_keeps_the_separator_unambiguous(data_key: DataKey) -> None:
    with pytest.raises(ValueError):
        encrypt_field(data_key, "x", table="a\x00b", column="c", row_id="1")


def test_it_detects_any_flipped_bit(data_key: DataKey) -> None:
    other = DataKey(7 ^ 1, new_data_key())
    keys = keys_of(data_key, other)
    blob = encrypt_field(data_key, "short", **PLACE)
    for bit in range(len(blob) * 8):
        damaged = bytearray(blob)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CryptoError):
            decrypt_field(keys, bytes(damaged), **PLACE)


def test_it_refuses_a_truncated_ciphertext(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "", **PLACE)
    for length in range(len(blob)):
        with pytest.raises(CryptoError):
            decrypt_field(keys_of(data_key), blob[:length], **PLACE)
    with pytest.raises(CryptoError):
        decrypt_field(keys_of(data_key), blob + b"\x00", **PLACE)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_it_refuses_an_unknown_version(data_key: DataKey, version: int) -> None:
    blob = encrypt_field(data_key, "abc", **PLACE)
    with pytest.raises(CryptoError, match="version"):
        decrypt_field(keys_of(data_key), bytes([version]) + blob[1:], **PLACE)
    with pytest.raises(CryptoError, match="version"):
        key_id_of(bytes([version]) + blob[1:])


def test_it_refuses_the_wrong_data_key(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "abc", **PLACE)
    with pytest.raises(CryptoError):
        decrypt_field(keys_of(DataKey(7, new_data_key())), blob, **PLACE)


def test_it_passes_on_a_destroyed_key(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "abc", **PLACE)
    with pytest.raises(CryptoError, match="data key 7 was destroyed"):
        decrypt_field(keys_of(), blob, **PLACE)


def test_it_refuses_a_key_with_another_id(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "abc", **PLACE)
    with pytest.raises(CryptoError):
        decrypt_field(lambda key_id: DataKey(8, data_key.key), blob, **PLACE)


def test_it_rejects_malformed_data_keys() -> None:
    with pytest.raises(ValueError):
        DataKey(1, b"short")
    with pytest.raises(ValueError):
        DataKey(2**32, new_data_key())
    with pytest.raises(ValueError):
        DataKey(-1, new_data_key())


def test_it_keeps_keys_out_of_repr(data_key: DataKey, master: MasterKey) -> None:
    assert data_key.key.hex() not in repr(data_key)
    assert repr(data_key.key) not in repr(data_key)
    assert master.key.hex() not in repr(master)
    assert repr(master.key) not in repr(master)


# Wrapped data keys


def test_it_wraps_and_unwraps_a_data_key(master: MasterKey) -> None:
    key = new_data_key()
    wrapped = wrap_key(master, 5, key)
    assert len(wrapped) == 1 + 12 + 32 + 16
    assert wrapped[0] == 1
    assert key not in wrapped
    assert unwrap_key(master, 5, wrapped) == key
    assert wrap_key(master, 5, key) != wrapped


def test_it_cannot_unwrap_with_the_wrong_master_key(master: MasterKey) -> None:
    wrapped = wrap_key(master, 5, new_data_key())
    with pytest.raises(CryptoError, match="wrong master key"):
        unwrap_key(MasterKey(new_data_key()), 5, wrapped)


def test_it_cannot_unwrap_under_a_swapped_key_id(master: MasterKey) -> None:
    first, second = new_data_key(), new_data_key()
    wrapped_first, wrapped_second = wrap_key(master, 1, first), wrap_key(master, 2, second)
    with pytest.raises(CryptoError):
        unwrap_key(master, 2, wrapped_first)
    with pytest.raises(CryptoError):
        unwrap_key(master, 1, wrapped_second)


def test_it_refuses_a_tampered_wrapped_key(master: MasterKey) -> None:
    wrapped = wrap_key(master, 5, new_data_key())
    for bit in range(len(wrapped) * 8):
        damaged = bytearray(wrapped)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CryptoError):
            unwrap_key(master, 5, bytes(damaged))
    for length in (0, 1, len(wrapped) - 1):
        with pytest.raises(CryptoError):
            unwrap_key(master, 5, wrapped[:length])


# Master key file


def test_it_creates_a_master_key_readable_by_its_owner_alone(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    master = create_master_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == master.key.hex() + "\n"
    assert load_master_key(path) == master


def test_it_creates_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o000)
    try:
        create_master_key(tmp_path / "master.key")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


def test_it_never_overwrites_a_master_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    create_master_key(path)
    before = path.read_bytes()
    with pytest.raises(CryptoError, match="already exists") as caught:
        create_master_key(path)
    assert isinstance(caught.value, FileExistsError)
    assert path.read_bytes() == before


def test_it_needs_the_directory_to_exist(tmp_path: Path) -> None:
    with pytest.raises(CryptoError):
        create_master_key(tmp_path / "missing" / "master.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620, 0o602])
def test_it_refuses_a_key_file_others_can_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    create_master_key(path)
    path.chmod(mode)
    with pytest.raises(CryptoError, match=f"chmod 600 {path}"):
        load_master_key(path)


def test_it_accepts_a_read_only_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    master = create_master_key(path)
    path.chmod(0o400)
    assert load_master_key(path) == master


@pytest.mark.parametrize(
    "content",
    [b"", b"\n", b"ab" * 31 + b"\n", b"ab" * 33 + b"\n", b"zz" * 32 + b"\n", "é".encode() * 32],
)
def test_it_refuses_a_damaged_key_file(tmp_path: Path, content: bytes) -> None:
    path = write_key_file(tmp_path / "master.key", content)
    with pytest.raises(CryptoError, match="damaged"):
        load_master_key(path)


def test_it_never_quotes_a_damaged_key_file(tmp_path: Path) -> None:
    almost_a_key = "0123456789abcdef" * 4
    path = write_key_file(tmp_path / "master.key", almost_a_key[:-1].encode() + b"g\n")
    with pytest.raises(CryptoError) as caught:
        load_master_key(path)
    assert almost_a_key[:16] not in str(caught.value)


def test_it_tells_how_to_create_a_missing_key(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match="smsgw init"):
        load_master_key(tmp_path / "master.key")


def test_it_refuses_a_directory_as_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.mkdir(mode=0o700)
    with pytest.raises(CryptoError):
        load_master_key(path)


def test_it_fingerprints_master_keys_stably(tmp_path: Path) -> None:
    key = bytes(range(32))
    assert key_fingerprint(key) == key_fingerprint(bytes(range(32)))
    assert len(key_fingerprint(key)) == 16
    int(key_fingerprint(key), 16)
    assert key_fingerprint(key) != key_fingerprint(bytes(range(1, 33)))
    assert MasterKey(key).fingerprint == key_fingerprint(key)
    first = create_master_key(tmp_path / "first.key")
    second = create_master_key(tmp_path / "second.key")
    assert first.fingerprint != second.fingerprint
    assert load_master_key(tmp_path / "first.key").fingerprint == first.fingerprint


def test_it_rejects_a_mismatched_fingerprint() -> None:
    with pytest.raises(ValueError):
        MasterKey(bytes(32), fingerprint="0" * 16)


# Blind index


def test_it_indexes_a_number_deterministically() -> None:
    index_key = new_data_key()
    assert blind_index(index_key, "+33612345678") == blind_index(index_key, "+33612345678")
    assert len(blind_index(index_key, "+33612345678")) == 32


def test_it_indexes_differently_per_key_and_per_number() -> None:
    index_key = new_data_key()
    assert blind_index(index_key, "+33612345678") != blind_index(index_key, "+33612345679")
    assert blind_index(index_key, "+33612345678") != blind_index(new_data_key(), "+33612345678")


@pytest.mark.parametrize("number", ["0612345678", "33612345678", "+33 6 12 34 56 78", "+0612"])
def test_it_refuses_to_index_an_unnormalised_number(number: str) -> None:
    with pytest.raises(ValueError) as caught:
        blind_index(new_data_key(), number)
    assert number not in str(caught.value)


# Keyring


class WrappedKeys:
    """The store's side of a Keyring: wrapped keys by id, counting loads."""

    def __init__(self, master: MasterKey) -> None:
        self.master = master
        self.rows: dict[int, tuple[bytes | None, str | None]] = {}
        self.loads: dict[int, int] = {}
        self.lock = threading.Lock()

    def create(self, key_id: int) -> bytes:
        key = new_data_key()
        self.rows[key_id] = (wrap_key(self.master, key_id, key), self.master.fingerprint)
        return key

    def __call__(self, key_id: int) -> tuple[bytes | None, str | None]:
        with self.lock:
            self.loads[key_id] = self.loads.get(key_id, 0) + 1
        return self.rows[key_id]


@pytest.fixture
def store(master: MasterKey) -> WrappedKeys:
    return WrappedKeys(master)


def test_it_round_trips_through_the_keyring(master: MasterKey, store: WrappedKeys) -> None:
    store.create(1)
    keyring = Keyring(master, store)
    blob = keyring.encrypt(1, SECRET_TEXT, **PLACE)
    assert Keyring(master, store).decrypt(blob, **PLACE) == SECRET_TEXT


def test_it_unwraps_each_key_once_across_threads(master: MasterKey, store: WrappedKeys) -> None:
    for key_id in range(1, 5):
        store.create(key_id)
    keyring = Keyring(master, store)
    barrier = threading.Barrier(8)
    results: list[DataKey] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(50):
                for key_id in range(1, 5):
                    results.append(keyring.get(key_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert store.loads == {1: 1, 2: 1, 3: 1, 4: 1}
    assert len({id(data_key) for data_key in results}) == 4


def test_it_caches_a_key_the_store_just_created(master: MasterKey, store: WrappedKeys) -> None:
    key = new_data_key()
    keyring = Keyring(master, store)
    assert keyring.add(9, key) == DataKey(9, key)
    assert keyring.get(9).key == key
    assert store.loads == {}


def test_it_replaces_a_key_left_cached_by_a_rolled_back_id(master: MasterKey, store) -> None:
    keyring = Keyring(master, store)
    keyring.add(9, new_data_key())
    key = store.create(9)
    assert keyring.add(9, key).key == key
    blob = keyring.encrypt(9, SECRET_TEXT, **PLACE)
    assert Keyring(master, store).decrypt(blob, **PLACE) == SECRET_TEXT


def test_it_accepts_integer_row_ids(data_key: DataKey) -> None:
    blob = encrypt_field(data_key, "abc", table="messages", column="body", row_id=42)
    assert decrypt_field(keys_of(data_key), blob, **PLACE) == "abc"


@pytest.mark.parametrize("tombstone", [(None, None), (b"", None)])
def test_it_reports_a_destroyed_key(master: MasterKey, store: WrappedKeys, tombstone) -> None:
    keyring = Keyring(master, store)
    blob = keyring.encrypt(keyring.add(3, store.create(3)).id, SECRET_TEXT, **PLACE)
    store.rows[3] = tombstone
    keyring.forget(3)
    with pytest.raises(CryptoError, match="data key 3 was destroyed"):
        keyring.decrypt(blob, **PLACE)


def test_it_reports_a_deleted_key_as_destroyed(master: MasterKey, store: WrappedKeys) -> None:
    keyring = Keyring(master, store)
    blob = keyring.encrypt(keyring.add(3, store.create(3)).id, SECRET_TEXT, **PLACE)
    del store.rows[3]
    keyring.forget(3)
    with pytest.raises(CryptoError, match="data key 3 was destroyed"):
        keyring.decrypt(blob, **PLACE)
    assert store.loads == {3: 1}


def test_it_names_the_master_key_a_data_key_needs(master: MasterKey, store: WrappedKeys) -> None:
    store.create(1)
    other = MasterKey(new_data_key())
    with pytest.raises(CryptoError, match=master.fingerprint):
        Keyring(other, store).get(1)


def test_it_unwraps_without_a_recorded_fingerprint(master: MasterKey, store: WrappedKeys) -> None:
    key = store.create(1)
    store.rows[1] = (store.rows[1][0], None)
    assert Keyring(master, store).get(1).key == key
    with pytest.raises(CryptoError, match="wrong master key"):
        Keyring(MasterKey(new_data_key()), store).get(1)


def test_it_survives_rewrapping_under_a_new_master_key(
    master: MasterKey, store: WrappedKeys
) -> None:
    store.create(1)
    blob = Keyring(master, store).encrypt(1, SECRET_TEXT, **PLACE)
    rotated = MasterKey(new_data_key())
    wrapped, _ = store.rows[1]
    store.rows[1] = (wrap_key(rotated, 1, unwrap_key(master, 1, wrapped)), rotated.fingerprint)
    assert Keyring(rotated, store).decrypt(blob, **PLACE) == SECRET_TEXT


# Nothing secret in messages


def test_it_never_puts_plaintext_in_an_error(master: MasterKey, store: WrappedKeys) -> None:
    key = store.create(1)
    keyring = Keyring(master, store)
    blob = keyring.encrypt(1, SECRET_TEXT, **PLACE)
    failures = [
        lambda: keyring.decrypt(blob, **{**PLACE, "row_id": "43"}),
        lambda: keyring.decrypt(blob[:-1], **PLACE),
        lambda: keyring.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), **PLACE),
        lambda: decrypt_field(keys_of(DataKey(1, new_data_key())), blob, **PLACE),
        lambda: keyring.encrypt(1, SECRET_TEXT + "\ud800", **PLACE),
        lambda: unwrap_key(MasterKey(new_data_key()), 1, store.rows[1][0] or b""),
    ]
    for fail in failures:
        with pytest.raises(CryptoError) as caught:
            fail()
        message = str(caught.value)
        assert SECRET_TEXT not in message
        assert "PIN" not in message
        assert key.hex() not in message
        assert master.key.hex() not in message
