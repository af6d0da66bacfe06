"""The e-mail addresses of logins encrypted at rest (docs/decisions/0052): staff and portal
customers, sealed to their row, changed, erased, re-encrypted by key rotation, and
migration 0035 over plaintext addresses."""
from __future__ import annotations

import pytest

from appliance import migrate
from appliance.db import database
from appliance.models import User
from appliance.rules.access import SYSTEM
from appliance.services import (customers, encryption, key_rotation, keys, user_emails,
                                users)
from tests.factories import make_org
from tests.migration_helpers import database_at


@pytest.fixture
def site(settings):
    return make_org()


def raw() -> str:
    return repr(database.execute_sql('SELECT * FROM "user"').fetchall())


def test_addresses_of_staff_and_portal_logins_are_stored_only_encrypted(site):
    view, _ = users.create_user(SYSTEM, "zhaomin", "赵敏", "agent", email="Zhao.Min@Corp.example",
                                department_id=site.after_sales)
    customers.sign_up("wangwu", "王五", "wangwu@example.com", "Ein-langes-Passwort")
    stored = raw()
    for plain in ("Zhao.Min", "corp.example", "wangwu@example.com", "zhangsan@example.com"):
        assert plain not in stored, plain
    assert "email" not in [c.name for c in database.get_columns("user")]
    assert view.email == "Zhao.Min@Corp.example"
    assert users.get_user(site.admin, view.id).email == "Zhao.Min@Corp.example"
    assert user_emails.email_of(User.get(User.username == "wangwu")) == "wangwu@example.com"


def test_a_changed_address_replaces_the_old_one_and_its_blind_index(site):
    uid = site.agent.user_id
    old_index = User.get_by_id(uid).email_bidx
    users.update_user(site.admin, uid, {"email": "wf2@example.com"})
    row = User.get_by_id(uid)
    assert user_emails.email_of(row) == "wf2@example.com"
    assert row.email_bidx == user_emails.blind("WF2@example.com") != old_index
    users.update_user(site.admin, uid, {"email": ""})
    row = User.get_by_id(uid)
    assert (row.email_enc, row.email_bidx, user_emails.email_of(row)) == ("", "", "")


def test_an_address_moved_to_another_login_does_not_open(site):
    a, b = User.get(User.username == "zhangsan"), User.get(User.username == "lisi")
    User.update(email_enc=a.email_enc).where(User.id == b.id).execute()
    with pytest.raises(encryption.TamperedData):
        users.get_user(site.admin, b.id)


def test_erasure_clears_the_portal_logins_address(site):
    login = User.get(User.username == "zhangsan")
    customers.erase(site.admin, login.customer_id)
    row = User.get_by_id(login.id)
    assert (row.email_enc, row.email_bidx, row.active) == ("", "", False)
    assert user_emails.blind("zhangsan@example.com") not in raw()


def test_key_rotation_moves_login_addresses_to_the_new_data_key(site, settings):
    before = User.get(User.username == "zhangsan").email_enc
    key_rotation.rotate(settings, reencrypt=True, environ={}, pause=0)
    row = User.get(User.username == "zhangsan")
    assert row.email_enc != before
    assert int(row.email_enc.split(".")[1]) == keys.current_data_key()[0]
    assert user_emails.email_of(row) == "zhangsan@example.com"


def test_migration_0035_encrypts_addresses_written_before_it(backend, settings, tmp_path):
    with database_at("0034_mail_addresses", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        p = database.param
        for name, email in (("a", " Alice@Example.com "), ("b", "")):
            database.execute_sql(
                f'INSERT INTO "user" (username, display_name, email, role, password_hash, '
                f'active, must_change_password, locale, capacity, created_at, version, '
                f'failed_logins, totp_secret, totp_pending, auth_source, external_dn, '
                f'external_id, directory_disabled) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p},'
                f' {p}, {p}, CURRENT_TIMESTAMP, 1, 0, {p}, {p}, {p}, {p}, {p}, {p})',
                (name, name, email, "agent", "", True, False, "", 10, "", "", "local", "", "",
                 False))
        assert "0035_user_email" in migrate.upgrade()
        assert "email" not in [c.name for c in database.get_columns("user")]
        assert "Alice" not in raw()
        a, b = User.select().order_by(User.id)
        assert user_emails.email_of(a) == "Alice@Example.com"
        assert a.email_bidx == user_emails.blind("alice@example.com")
        assert (b.email_enc, b.email_bidx) == ("", "")
