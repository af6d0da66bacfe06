"""security.envelope: key wrapping, field and file encryption, blind indexes."""
import pytest

from security import envelope as env

MASTER = env.new_key()
DK = env.new_key()


def keys(key_id):
    if key_id != 7:
        raise env.UnknownKeyError(key_id)
    return DK


def test_a_wrapped_data_key_unwraps_under_its_master_key_and_id_only():
    wrapped = env.wrap_key(MASTER, 7, DK)
    assert env.unwrap_key(MASTER, 7, wrapped) == DK
    with pytest.raises(env.TamperedError):
        env.unwrap_key(MASTER, 8, wrapped)
    with pytest.raises(env.TamperedError):
        env.unwrap_key(env.new_key(), 7, wrapped)


def test_a_field_round_trips_and_carries_its_key_id_without_the_plaintext():
    aad = env.field_aad("customer_contact", "value", 12)
    token = env.encrypt_text(DK, 7, "13800138000", aad)
    assert token.startswith("g1.7.") and "13800138000" not in token
    assert env.text_key_id(token) == 7
    assert env.decrypt_text(keys, token, aad) == "13800138000"
    assert env.encrypt_text(DK, 7, "13800138000", aad) != token  # fresh nonce each time


@pytest.mark.parametrize("aad", [env.field_aad("customer_contact", "value", 13),
                                 env.field_aad("customer_contact", "label", 12),
                                 env.field_aad("customer", "value", 12)])
def test_a_ciphertext_moved_to_another_row_or_column_fails_authentication(aad):
    token = env.encrypt_text(DK, 7, "13800138000", env.field_aad("customer_contact", "value", 12))
    with pytest.raises(env.TamperedError, match="failed authentication"):
        env.decrypt_text(keys, token, aad)


def test_an_altered_or_truncated_ciphertext_raises_tampered_error():
    aad = env.field_aad("t", "c", 1)
    token = env.encrypt_text(DK, 7, "secret", aad)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, token[:12], "g1.x.abc", "plain text"):
        with pytest.raises(env.TamperedError):
            env.decrypt_text(keys, bad, aad)


def test_files_round_trip_and_are_bound_to_their_attachment():
    data = b"%PDF-1.7 ID 11010519491231002X" * 1000
    blob = env.encrypt_bytes(DK, 7, data, b"attachment|5")
    assert env.is_encrypted_blob(blob) and b"11010519491231002X" not in blob
    assert env.decrypt_bytes(keys, blob, b"attachment|5") == data
    with pytest.raises(env.TamperedError):
        env.decrypt_bytes(keys, blob, b"attachment|6")
    with pytest.raises(env.TamperedError):
        env.decrypt_bytes(keys, blob[:-1] + bytes([blob[-1] ^ 1]), b"attachment|5")


def test_blind_indexes_match_across_formattings_and_differ_by_kind_and_key():
    key = env.new_key()
    assert env.blind_index(key, "phone", "+86 138-0013-8000") == \
        env.blind_index(key, "phone", "+8613800138000")
    assert env.blind_index(key, "email", " Zhao@Example.COM ") == \
        env.blind_index(key, "email", "zhao@example.com")
    assert env.blind_index(key, "phone", "13800138000") != \
        env.blind_index(key, "external", "13800138000")
    assert env.blind_index(key, "phone", "13800138000") != \
        env.blind_index(env.new_key(), "phone", "13800138000")
    assert len(env.blind_index(key, "id_number", "11010519491231002x")) == 32


def test_the_key_check_tells_keys_apart():
    assert env.key_check(MASTER) == env.key_check(MASTER)
    assert env.key_check(MASTER) != env.key_check(env.new_key())
