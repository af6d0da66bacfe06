"""Log redaction (appliance/logsafe.py) through real logging: records of any logger,
handlers added before or after installation, secrets and PII masked, lines not forgeable."""
from __future__ import annotations

import io
import json
import logging

import pytest

from appliance import logsafe

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
TOKEN = "gd_" + "Ab3dEf6hIj9kLmNoPqRsTuVwXyZ0123456789abcd"


@pytest.fixture
def captured():
    """A real StreamHandler on a fresh logger, with redaction installed in this process."""
    logsafe.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.logsafe.child")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize("message, args, secret", [
    ("login form: username=%s password=%s", ("wangfang", "Hunter2-secret!"), "Hunter2-secret!"),
    ("payload %s", (json.dumps({"user": "a", "password": "Js0n-Secret"}),), "Js0n-Secret"),
    ("payload %s", ({"api_key": "py-repr-key-123"},), "py-repr-key-123"),
    ("headers %s", ({"Authorization": "Bearer abcdefghijklmnop1234"},), "abcdefghijklmnop1234"),
    ("Authorization: Basic %s", ("dXNlcjpwYXNzd29yZA==",), "dXNlcjpwYXNzd29yZA=="),
    ("token used: %s", (TOKEN,), TOKEN[3:]),
    ("mailbox saved host=imap.example.com imap_password=%s", ("Imap-Pa55",), "Imap-Pa55"),
    ("GET /reset?token=%s&x=1", ("reset-tok-abcdef",), "reset-tok-abcdef"),
    ("secret_key: %s", ("s3cr3t-key-value",), "s3cr3t-key-value"),
])
def test_passwords_tokens_and_keys_are_masked(captured, message, args, secret):
    logger, stream = captured
    logger.warning(message, *args)
    out = stream.getvalue()
    assert secret not in out and logsafe.MASK in out, out


def test_id_numbers_and_mobile_numbers_are_masked(captured):
    logger, stream = captured
    logger.info("customer %s called from %s (+86 138-1234-5678)", ID_NUMBER, PHONE)
    out = stream.getvalue()
    assert ID_NUMBER not in out and PHONE not in out and "138-1234-5678" not in out
    assert "138****5678" in out and "1101**************" in out


def test_ordinary_numbers_and_words_are_kept(captured):
    logger, stream = captured
    logger.info("ticket GD-2026-000123 (id 42) took 1234 ms for wangfang")
    assert "GD-2026-000123 (id 42) took 1234 ms for wangfang" in stream.getvalue()


def test_a_line_break_in_a_user_value_cannot_forge_a_log_line(captured):
    logger, stream = captured
    logger.warning("login failed for %s", "eve\r\nINFO security: login ok for admin\x1b[2J")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "\\r\\nINFO security" in lines[0] and "\\x1b" in lines[0]


def test_records_of_handlers_added_after_installation_are_redacted_too(caplog):
    logsafe.install()
    with caplog.at_level(logging.INFO, logger="tests.logsafe.late"):
        logging.getLogger("tests.logsafe.late").info("password=%s", "Late-Handler-Pw")
    assert "Late-Handler-Pw" not in caplog.text and "password=***" in caplog.text


def test_an_exception_message_is_masked_when_logged_as_the_message(captured):
    logger, stream = captured
    try:
        raise ValueError("bad login: password='Exc-Secret-1'")
    except ValueError as exc:
        logger.error("failed: %s", exc)
    assert "Exc-Secret-1" not in stream.getvalue()


def test_the_filter_alone_works_on_a_handler(captured):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", ("raw-token-99",), None)
    logsafe.RedactingFilter().filter(record)
    assert record.getMessage() == "token=***"


def test_a_logged_traceback_is_masked_line_by_line(captured):
    logger, stream = captured
    try:
        raise RuntimeError("connect failed: password=Tb-Secret-7")
    except RuntimeError:
        logger.exception("mail fetch failed")
    out = stream.getvalue()
    assert "Tb-Secret-7" not in out and "Traceback" in out and out.count("\n") > 2


def test_every_process_start_installs_redaction(settings, monkeypatch):
    """boot() is what `gongdan serve` workers, `gongdan worker` and the CLI call first."""
    from appliance.bootstrap import boot
    monkeypatch.setattr(logsafe, "_installed", [])
    monkeypatch.setattr(logging, "_logRecordFactory", logging.LogRecord)
    boot(settings, queue=False)
    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "password=%s",
                                           ("Boot-Pw-1",), None)
    assert record.getMessage() == "password=***"
