"""Secrets encrypted at rest: round trip, fresh ciphertext, wrong key and tampering refused."""
import pytest

from security.crypto import SecretDecryptError, decrypt_secret, encrypt_secret

KEY = "k" * 43


def test_an_encrypted_secret_decrypts_with_the_same_key():
    token = encrypt_secret("s3cret-密码", KEY)
    assert decrypt_secret(token, KEY) == "s3cret-密码"


def test_the_token_does_not_contain_the_plain_text_and_differs_each_time():
    a, b = encrypt_secret("hunter2hunter2", KEY), encrypt_secret("hunter2hunter2", KEY)
    assert a != b
    assert "hunter2" not in a and a.isascii()


def test_a_wrong_key_is_a_clear_error():
    token = encrypt_secret("pw", KEY)
    with pytest.raises(SecretDecryptError, match="secret key differs"):
        decrypt_secret(token, KEY + "x")


def test_an_altered_token_is_refused():
    token = encrypt_secret("pw", KEY)
    bad = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(SecretDecryptError):
        decrypt_secret(bad, KEY)
    with pytest.raises(SecretDecryptError):
        decrypt_secret("not a token", KEY)


def test_an_empty_secret_key_is_refused():
    with pytest.raises(ValueError, match="secret_key"):
        encrypt_secret("pw", "")
