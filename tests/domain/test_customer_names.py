"""Customer names encrypted at rest (docs/decisions/0050): sealed to their row, found by
their whole name through a blind index (case and spacing aside, never by a part), renamed,
erased, re-encrypted by key rotation, and migration 0033 over plaintext names."""
from __future__ import annotations

import pytest

from appliance import migrate
from appliance.db import database
from appliance.models import Customer
from appliance.services import (customer_merge, customer_names, customers, encryption,
                                key_rotation, keys)
from appliance.services.tickets import TicketInput, create_ticket, get_ticket
from tests.factories import make_org
from tests.migration_helpers import database_at


@pytest.fixture
def site(settings):
    return make_org()


def raw(table: str = "customer") -> str:
    return repr(database.execute_sql(f'SELECT * FROM "{table}"').fetchall())


def found(site, text: str) -> list[int]:
    return [c.id for c in customers.list_customers(site.agent, search=text).items]


def test_a_name_is_stored_only_encrypted_and_read_back_everywhere(site, settings):
    c = customers.create_customer(site.agent, "欧阳 Nana", company="五金公司")
    assert "欧阳" not in raw() and "Nana" not in raw()
    assert "name" not in [col.name for col in database.get_columns("customer")]
    assert customers.get_customer(site.agent, c.id).name == "欧阳 Nana"
    t = create_ticket(site.agent, TicketInput(subject="洗衣机漏水", customer_id=c.id,
                                              department_id=site.after_sales), settings)
    assert t.summary.customer.name == "欧阳 Nana"
    assert get_ticket(site.agent, t.summary.id, settings).summary.customer.name == "欧阳 Nana"


def test_a_name_is_found_whole_case_and_spacing_aside_never_by_a_part(site):
    a = customers.create_customer(site.agent, "Li  Lei").id
    b = customers.create_customer(site.agent, "LI LEI").id
    customers.create_customer(site.agent, "Li Leiming")
    zh = customers.create_customer(site.agent, "诸葛孔明").id
    assert found(site, " li lei ") == [a, b]
    assert found(site, "诸葛孔明") == [zh]
    for part in ("Li", "Lei", "诸葛", "li le"):
        assert found(site, part) == [], part
    assert found(site, "   ") == []


def test_a_renamed_customer_is_found_by_the_new_name_only(site):
    c = customers.create_customer(site.agent, "王五")
    customers.update_customer(site.agent, c.id, {"name": "王五六"})
    assert customers.get_customer(site.agent, c.id).name == "王五六"
    assert found(site, "王五") == [] and found(site, "王五六") == [c.id]
    assert "王五" not in raw()


def test_a_name_moved_to_another_row_does_not_open(site):
    a = customers.create_customer(site.agent, "王五")
    b = customers.create_customer(site.agent, "赵六")
    stolen = Customer.get_by_id(a.id).name_enc
    Customer.update(name_enc=stolen).where(Customer.id == b.id).execute()
    with pytest.raises(encryption.TamperedData):
        customers.get_customer(site.agent, b.id)
    assert customers.get_customer(site.agent, a.id).name == "王五"


def test_same_name_duplicate_hints_and_merge_history_keep_names_out_of_plaintext(site,
                                                                               settings):
    a = customers.create_customer(site.agent, "Wang Fang", notes="老客户").id
    b = customers.create_customer(site.agent, "wang  fang").id
    hints = customer_merge.possible_duplicates(site.agent, a)
    assert [(h.customer.id, h.customer.name, h.reasons) for h in hints] == [
        (b, "wang fang", ("same_name",))]
    t = create_ticket(site.agent, TicketInput(subject="洗衣机漏水", customer_id=a,
                                              department_id=site.after_sales), settings)
    customer_merge.merge_customers(site.supervisor, a, b)
    assert get_ticket(site.agent, t.summary.id, settings).summary.customer.name == "wang fang"
    for table in ("customer", "timeline_event"):
        assert "Wang" not in raw(table) and "fang" not in raw(table), table
    assert found(site, "Wang Fang") == [b]  # the merged one is hidden


def test_erasure_replaces_the_name_and_its_blind_index(site):
    c = customers.create_customer(site.agent, "欧阳娜娜")
    old_index = Customer.get_by_id(c.id).name_bidx
    customers.erase(site.admin, c.id)
    assert customers.get_customer(site.admin, c.id).name == f"Erased customer #{c.id}"
    assert old_index not in raw() and found(site, "欧阳娜娜") == []


def test_key_rotation_moves_names_to_the_new_data_key(site, settings):
    c = customers.create_customer(site.agent, "王五")
    before = Customer.get_by_id(c.id).name_enc
    result = key_rotation.rotate(settings, reencrypt=True, environ={}, pause=0)
    after = Customer.get_by_id(c.id).name_enc
    assert result.reencrypted >= 1 and after != before
    assert keys.current_data_key()[0] == int(after.split(".")[1])
    assert customers.get_customer(site.agent, c.id).name == "王五"
    assert found(site, "王五") == [c.id]   # the blind index key is not rotated


def test_migration_0033_encrypts_names_written_before_it(backend, settings, tmp_path):
    with database_at("0032_partial_indexes", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        p = database.param
        ids = []
        for name in ("王五", "Li  Lei", "李雷"):
            database.execute_sql(
                f'INSERT INTO "customer" (name, company, tags, notes, created_at, version, '
                f'id_number_enc, id_number_bidx, address_enc) '
                f"VALUES ({p}, '', '[]', '', CURRENT_TIMESTAMP, 1, '', '', '')", (name,))
            ids.append(database.execute_sql('SELECT MAX(id) FROM "customer"').fetchone()[0])
        # What merges wrote before: a timeline event and a notes heading naming customers.
        from tests.migration_helpers import insert_row
        ticket = insert_row("ticket", number="GD-2026-000001", subject="s", status="open",
                            priority=3)
        insert_row("timeline_event", ticket_id=ticket, kind="customer_merged",
                   field="customer_id", before='"王五 (#1)"', after='"李雷 (#3)"')
        database.execute_sql(f'UPDATE "customer" SET notes = {p} WHERE id = {p}',
                             ("旧备注\n\n--- merged from customer #1 (王五) ---\n好客户", ids[2]))
        assert "0033_customer_name" in migrate.upgrade()
        assert "name" not in [c.name for c in database.get_columns("customer")]
        assert "王五" not in raw() and "Lei" not in raw()
        assert "王五" not in raw("timeline_event") and "李雷" not in raw("timeline_event")
        from appliance.models import TimelineEvent
        event = TimelineEvent.get()
        assert (event.before, event.after) == ("#1", "#3")
        notes = Customer.get_by_id(ids[2]).notes
        assert notes == "旧备注\n\n--- merged from customer #1 ---\n好客户"
        assert customer_names.names(ids) == dict(zip(ids, ("王五", "Li  Lei", "李雷")))
        assert [c.id for c in Customer.select(Customer.id).where(
            customer_names.is_named("li lei"))] == [ids[1]]
        # The rebuilt table (SQLite) kept the partial indexes of 0032.
        names = {i.name for i in database.get_indexes("customer")}
        assert {"customer_merged_into_id", "customer_id_number_bidx",
                "customer_name_bidx"} <= names


# -- a customer's portal login shows the customer's name (decision 0052) -----------------------

def test_a_portal_login_keeps_no_copy_of_the_name_and_shows_the_customers(site, settings):
    from appliance.models import User
    from appliance.services import comments, users
    user = customers.sign_up("ouyang", "欧阳娜娜", "ouyang@example.com", "Ein-langes-Passwort")
    assert "欧阳" not in raw("user") and user.display_name == "-"
    me = users.actor_of(User.get_by_id(user.id))
    assert me.display_name == "欧阳娜娜"
    t = create_ticket(me, TicketInput(subject="洗衣机漏水"), settings).summary
    comments.add_comment(me, t.id, "还在漏水", settings)
    detail = get_ticket(site.agent, t.id, settings)
    assert detail.requester.name == "欧阳娜娜"
    assert [c.author.name for c in detail.comments] == ["欧阳娜娜"]
    customers.update_customer(site.agent, user.customer_id, {"name": "欧阳娜"})
    assert users.get_user(site.admin, user.id).display_name == "欧阳娜"


def test_an_admin_changes_a_portal_logins_name_on_the_customer_only(site):
    from appliance.errors import ValidationError
    from appliance.models import User
    from appliance.services import users
    login = User.get(User.username == "zhangsan")
    users.update_user(site.admin, login.id, {"display_name": "张三", "locale": "en"})
    assert User.get_by_id(login.id).display_name == "-"
    with pytest.raises(ValidationError) as err:
        users.update_user(site.admin, login.id, {"display_name": "张小三"})
    assert "display_name" in err.value.fields
    # No longer the customer's login: it needs a name of its own, kept on the login.
    with pytest.raises(ValidationError) as err:
        users.update_user(site.admin, login.id, {"role": "agent"})
    assert "display_name" in err.value.fields
    users.update_user(site.admin, login.id, {"role": "agent", "display_name": "张三（员工）"})
    assert User.get_by_id(login.id).display_name == "张三（员工）"


def test_migration_0036_drops_the_plaintext_name_of_portal_logins(backend, settings, tmp_path):
    from tests.migration_helpers import insert_row
    with database_at("0035_user_email", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        c = customer_names.create("王五")
        login = insert_row("user", username="wangwu", display_name="王五", role="customer",
                           customer_id=c.id, active=True)
        staff = insert_row("user", username="wf", display_name="王芳", role="agent",
                           active=True)
        assert "0036_customer_login_names" in migrate.upgrade()
        rows = dict(database.execute_sql('SELECT id, display_name FROM "user"').fetchall())
        assert (rows[login], rows[staff]) == ("-", "王芳")
