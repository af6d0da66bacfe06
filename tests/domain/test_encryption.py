"""Encryption at rest (docs/decisions/0030): customer PII encrypted and bound to its row,
blind-index lookups, tamper detection, the master key at start-up, key rotation,
migration 0018 over plaintext contacts, and encrypted attachments."""
from __future__ import annotations

import os
from pathlib import Path

import peewee
import pytest

from appliance import keystore, migrate
from appliance.db import database
from appliance.errors import ValidationError
from appliance.keystore import KeyProblem
from appliance.models import Attachment, Customer, CustomerContact, DataKey, KeyCheck
from appliance.services import (attachments, contacts, customers, encryption, identity,
                                key_rotation, keys)
from appliance.services.attachments import Upload
from appliance.services.tickets import TicketInput, create_ticket
from tests.factories import make_org
from tests.migration_helpers import database_at, old_customer_tables

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"   # check digit X is right for these 17 digits
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


@pytest.fixture
def site(settings):
    return make_org()


def raw_rows(table: str) -> str:
    """Every column of every row, as the database holds it."""
    return repr(database.execute_sql(f'SELECT * FROM "{table}"').fetchall())


def audit_actions() -> list[str]:
    return [r[0] for r in database.execute_sql("SELECT action FROM audit_record").fetchall()]


def make_customer(site, **extra):
    return customers.create_customer(site.admin, "王五", contacts=[
        {"kind": "phone", "value": "+86 138-1234-5678"},
        {"kind": "email", "value": "Wang.Wu@Example.com"}], **extra)


def test_contacts_and_id_numbers_are_stored_encrypted_and_found_through_blind_indexes(site):
    c = make_customer(site, id_number="110105 19491231 002x", address="北京市朝阳区建国路1号")
    stored = raw_rows("customer_contact") + raw_rows("customer")
    for plain in (PHONE, "1234-5678", "wang.wu@example.com", ID_NUMBER, "建国路"):
        assert plain not in stored, plain
    assert {(x.kind, x.value) for x in c.contacts} == {("phone", PHONE),
                                                       ("email", "wang.wu@example.com")}
    assert (c.id_number, c.address) == (ID_NUMBER, "北京市朝阳区建国路1号")
    for typed in ("138 1234 5678", "+8613812345678", "WANG.WU@example.COM", ID_NUMBER.lower()):
        assert customers.find_customer_by_contact(site.admin, typed).id == c.id, typed
    assert customers.find_customer_by_contact(site.admin, "1381234567") is None  # no parts
    assert identity.match_customer(phone="138 1234 5678") == c.id
    assert [x.id for x in customers.list_customers(site.agent, search=PHONE).items] == [c.id]


def test_an_agent_not_working_on_the_customer_sees_the_id_number_and_address_masked(site):
    c = make_customer(site, id_number=ID_NUMBER, address="北京市朝阳区建国路1号")
    seen = customers.get_customer(site.agent, c.id)
    assert (seen.id_number, seen.address) == ("110105**********2X", "北京市朝阳区***")
    assert seen.contacts_masked


def test_an_id_number_with_a_wrong_check_digit_is_refused_naming_the_field(site):
    before = Customer.select().count()
    with pytest.raises(ValidationError) as err:
        customers.create_customer(site.admin, "王五", id_number="110105194912310021")
    assert "id_number" in err.value.fields
    assert Customer.select().count() == before


def test_the_id_number_and_address_change_and_the_old_blind_index_goes(site):
    c = make_customer(site, id_number=ID_NUMBER)
    customers.update_customer(site.admin, c.id, {"id_number": "", "address": "上海"})
    again = customers.get_customer(site.admin, c.id)
    assert (again.id_number, again.address) == ("", "上海")
    assert customers.find_customer_by_contact(site.admin, ID_NUMBER) is None


def test_a_ciphertext_moved_to_another_row_is_refused_and_audited(site):
    a = make_customer(site)
    b = customers.create_customer(site.admin, "赵六", contacts=[{"kind": "phone",
                                                                "value": "13900001111"}])
    stolen = CustomerContact.get(CustomerContact.customer == a.id, CustomerContact.kind == "phone")
    CustomerContact.update(value_enc=stolen.value_enc).where(
        CustomerContact.customer == b.id).execute()
    with pytest.raises(encryption.TamperedData, match="failed authentication"):
        customers.get_customer(site.admin, b.id)
    assert "crypto.tamper_detected" in audit_actions()
    token = stolen.value_enc
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    CustomerContact.update(value_enc=flipped).where(CustomerContact.id == stolen.id).execute()
    with pytest.raises(encryption.TamperedData):
        customers.get_customer(site.admin, a.id)


def test_start_up_refuses_a_missing_exposed_malformed_or_wrong_master_key(settings, tmp_path):
    make_org()
    path = Path(settings.keys_dir) / keystore.MASTER_FILE
    before = raw_rows("customer_contact")
    os.chmod(path, 0o640)
    with pytest.raises(KeyProblem, match="chmod 0400"):
        keys.activate(settings, environ={})
    os.chmod(path, 0o400)
    elsewhere = type(settings)(**{**settings.__dict__, "keys_dir": str(tmp_path / "none")})
    with pytest.raises(KeyProblem, match="gongdan init"):
        keys.activate(elsewhere, environ={})
    keystore.create_master(elsewhere, environ={})  # a new, different key
    with pytest.raises(KeyProblem, match="not the key this database was set up with"):
        keys.activate(elsewhere, environ={})
    bad = tmp_path / "creds"
    bad.mkdir()
    (bad / keystore.CREDENTIAL).write_text("1 not-base64!\n")
    os.chmod(bad / keystore.CREDENTIAL, 0o400)
    with pytest.raises(KeyProblem, match="malformed"):
        keys.activate(settings, environ={"CREDENTIALS_DIRECTORY": str(bad)})
    assert raw_rows("customer_contact") == before  # nothing read or rewritten
    keys.activate(settings, environ={})  # the right key still works


def test_a_master_key_from_systemd_credentials_is_used(settings, tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / keystore.CREDENTIAL).write_text(path_text := (
        Path(settings.keys_dir) / keystore.MASTER_FILE).read_text())
    assert path_text
    os.chmod(creds / keystore.CREDENTIAL, 0o400)
    (Path(settings.keys_dir) / keystore.MASTER_FILE).unlink()
    keys.activate(settings, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    site = make_org()
    c = make_customer(site)
    assert customers.get_customer(site.admin, c.id).contacts[0].value == PHONE


def test_rotation_rewraps_data_keys_under_a_new_master_key_and_data_stays_readable(site):
    c = make_customer(site, id_number=ID_NUMBER)
    r = key_rotation.rotate(runtime_settings(), reencrypt=False)
    assert (r.master_version, r.resumed) == (2, False) and r.rewrapped >= 2
    assert keystore.read_master(runtime_settings(), environ={}).keys() == {2}
    assert [k.master_version for k in DataKey.select()] == [2] * DataKey.select().count()
    assert [k.master_version for k in KeyCheck.select()] == [2]
    keys.activate(runtime_settings(), environ={})  # a restart with the new file
    assert customers.get_customer(site.admin, c.id).id_number == ID_NUMBER
    assert "keys.rotated" in audit_actions()


def test_reencryption_moves_every_value_and_file_to_a_new_data_key_and_resumes(site, settings):
    c = make_customer(site, id_number=ID_NUMBER)
    t = create_ticket(site.agent, TicketInput(subject="发票", department_id=site.after_sales),
                      settings, uploads=[Upload("a.png", PNG)])
    old = keys.current_data_key()[0]
    # A rotation that crashed after writing the key file: the next run resumes it.
    key_rotation._new_master(settings, keystore.read_master(settings, environ={}), {})
    r = key_rotation.rotate(settings, reencrypt=True, batch=1)
    new = keys.current_data_key()[0]
    # two portal sign-ups' names, contacts and login addresses; this customer's name,
    # phone, e-mail, ID number
    values = 10
    assert r.resumed and new != old and r.reencrypted == values and r.files == 1
    info = key_rotation.status(settings, environ={})
    assert {k["id"]: k["values"] for k in info["data_keys"]}[new] == values
    assert not info["rotation_unfinished"]
    # Run again over what is already moved (an interrupted run resumed): nothing to do.
    assert sum(key_rotation._reencrypt_column(*spec, batch=2) for spec in
               key_rotation.ENCRYPTED) == 0 and key_rotation._reencrypt_files(settings) == 0
    got = customers.get_customer(site.admin, c.id)
    assert (got.id_number, got.contacts[0].value) == (ID_NUMBER, PHONE)
    a = Attachment.get(Attachment.ticket == t.summary.id)
    assert attachments.open_attachment(site.agent, a.id, settings)[1] == PNG


def runtime_settings():
    from appliance import runtime
    return runtime.settings()


def test_attachments_are_encrypted_on_disk_served_decrypted_and_refused_when_altered(
        site, settings):
    data = b"invoice for 13812345678 ID 11010519491231002X\n" * 50
    t = create_ticket(site.agent, TicketInput(subject="发票", department_id=site.after_sales),
                      settings, uploads=[Upload("invoice.txt", data)])
    a = Attachment.get(Attachment.ticket == t.summary.id)
    path = attachments._path(settings, a.storage_name)
    stored = path.read_bytes()
    assert PHONE.encode() not in stored and stored[:4] == b"GDE1"
    assert attachments.open_attachment(site.agent, a.id, settings)[1] == data
    os.chmod(path, 0o600)
    path.write_bytes(stored[:-1] + bytes([stored[-1] ^ 1]))
    with pytest.raises(encryption.TamperedData):
        attachments.open_attachment(site.agent, a.id, settings)
    assert "crypto.tamper_detected" in audit_actions()
    path.write_bytes(data)  # a file stored before encryption at rest still downloads
    assert attachments.open_attachment(site.agent, a.id, settings)[1] == data


@pytest.fixture
def old_database(backend, settings, tmp_path):
    with database_at("0017_roles", backend, settings, tmp_path):
        yield


def test_migration_0018_encrypts_contacts_written_before_it(backend, settings, old_database):
    OldCustomer, OldContact = old_customer_tables()
    a = OldCustomer.create(name="王五").id
    b = OldCustomer.create(name="赵六").id
    OldContact.create(customer_id=a, kind="phone", value=PHONE)
    OldContact.create(customer_id=a, kind="email", value="wang@example.com")
    OldContact.create(customer_id=b, kind="external", value="wechat:13900001111")

    assert "0018_encryption" in migrate.upgrade()
    assert PHONE not in raw_rows("customer_contact")
    assert "value" not in [c.name for c in database.get_columns("customer_contact")]
    keys.activate(settings, environ={})  # as `gongdan db upgrade` does after migrating
    assert [(c.customer_id, c.kind, c.value) for c in contacts.of_customers([a, b])] == [
        (a, "phone", PHONE), (a, "email", "wang@example.com"), (b, "external", "wechat:13900001111")]
    assert identity.match_customer(email="WANG@example.com") == a
    with pytest.raises(peewee.IntegrityError):
        with database.atomic():
            contacts.add(b, "phone", PHONE)
