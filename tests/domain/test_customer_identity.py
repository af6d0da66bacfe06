"""Customer identity on both databases: matching across channels, racing intakes, contact
rules, merging duplicates, portal sign-up with a known address, and the profile panel."""
from __future__ import annotations

import threading
import time
from email.message import EmailMessage

import pytest

from appliance.db import database
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (AgentProfile, Callback, Conversation, Customer,
                              Ticket, TimelineEvent, User, utcnow)
from appliance.rules.access import SYSTEM
from appliance.services import (contacts, customer_merge, customer_names, customer_profile,
                                customers, identity, mail_intake, mailboxes, tickets, webforms)
from tests.factories import make_org, ticket

SUPPORT = "support@gongdan.example"


@pytest.fixture
def site(settings):
    return make_org()


def contacts_of(customer_id: int) -> list[tuple[str, str]]:
    return sorted((c.kind, c.value) for c in contacts.of_customer(customer_id))


def conversation(channel: str, external_id: str, customer_id: int | None) -> Conversation:
    return Conversation.create(channel=channel, external_id=external_id, payload_sha256="0" * 64,
                               customer=customer_id, started_at=utcnow(), status="analysed",
                               outcome="resolved")


# --- matching across channels ------------------------------------------------------------------

def test_mail_then_a_chat_with_the_same_email_end_on_one_customer_without_its_typed_contacts(
        backend, settings, site):
    mailboxes.add_mailbox(SYSTEM, SUPPORT, department_code="AS", name="Support")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "王小明 <XiaoMing@Customer.example>", SUPPORT, "坏了"
    msg["Message-ID"] = "<id-1@customer.example>"
    msg.set_content("打印机坏了")
    result = mail_intake.ingest(msg.as_bytes(), settings)
    by_mail = Ticket.get_by_id(result.ticket_id).customer_id
    assert contacts_of(by_mail) == [("email", "xiaoming@customer.example")]

    def chat_intake():  # what chat intake does with pre-chat data and the platform's id
        with unit_of_work():
            return identity.find_or_create_customer(
                "另一个名字", email=" xiaoming@CUSTOMER.example ", phone="+86 138-0013-8000",
                external_id="integration-1:wx-42", vouched={"external"},
                source="chat conversation #7")
    assert chat_intake() == by_mail
    # The typed e-mail matched; neither the typed phone nor the chat account joined the
    # profile, since anyone can type someone else's address. Staff get a masked hint.
    assert contacts_of(by_mail) == [("email", "xiaoming@customer.example")]
    c = Customer.get_by_id(by_mail)
    assert customer_names.name_of(c) == "王小明"  # names label, never match
    assert "phone number 138****8000 was given" in c.notes
    assert "external id integration-1:***42 was given" in c.notes
    assert "[chat conversation #7 " in c.notes and "13800138000" not in c.notes
    assert c.version == 2  # an edit form opened before the note gets a 409, not a lost note
    chat_intake()
    assert Customer.get_by_id(by_mail).notes == c.notes  # the same hint is not repeated
    # A number on a profile is found however it is written.
    by_phone = identity.find_or_create_customer("", phone="+86 138-0013-8000")
    assert identity.find_or_create_customer("", phone="008613800138000") == by_phone
    assert identity.match_customer(phone="13800138000") == by_phone != by_mail
    assert identity.find_or_create_customer("王小明", phone="13999999999") != by_mail


def test_an_anonymous_web_form_cannot_put_its_phone_on_a_known_customer(
        backend, settings, site):
    victim = customers.create_customer(site.admin, "王五", notes="老客户", contacts=[
        {"kind": "email", "value": "w5@example.com"}])
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="support", title="联系我们"))

    def post(**fields):
        values = dict(name="冒充者", subject="改地址", description="请改收货地址", **fields)
        token = webforms.issue_token("support", settings, now=time.time() - 5)
        return webforms.submit("support", webforms.Submission(**values), "203.0.113.9",
                               settings, token=token)
    post(email="W5@Example.com", phone="13912345678")
    assert Ticket.get().customer_id == victim.id  # matching by the address stays
    assert contacts_of(victim.id) == [("email", "w5@example.com")]
    notes = Customer.get_by_id(victim.id).notes
    assert notes.startswith("老客户\n\n[web form ")
    assert "phone number 139****5678 was given" in notes and "13912345678" not in notes
    # The visitor's number alone leads to a customer of its own, not to 王五.
    post(phone="13912345678")
    other = Ticket.select().order_by(Ticket.id.desc()).get().customer_id
    assert other != victim.id and contacts_of(other) == [("phone", "13912345678")]


def test_a_new_customer_without_a_name_is_labelled_with_a_masked_contact(backend, settings):
    by_phone = identity.find_or_create_customer("", phone="+86 138 0013 8000")
    by_mail = identity.find_or_create_customer("  ", email="zhang@example.com",
                                               phone="13900000000")
    by_id = identity.find_or_create_customer("", external_id="integration-2:user-4711")
    assert customer_names.name_by_id(by_phone) == "138****8000"
    assert customer_names.name_by_id(by_mail) == "z***@example.com"
    assert customer_names.name_by_id(by_id) == "integration-2:***11"
    assert contacts_of(by_mail) == [("email", "zhang@example.com"), ("phone", "13900000000")]


def test_an_identifier_held_by_another_customer_stays_there(backend, settings):
    a = identity.find_or_create_customer("A", email="a@example.com")
    b = identity.find_or_create_customer("B", phone="13800000002")
    # e-mail is matched first; the phone belongs to B and is not copied onto A.
    assert identity.find_or_create_customer("?", email="a@example.com",
                                            phone="13800000002") == a
    assert contacts_of(a) == [("email", "a@example.com")]
    assert contacts_of(b) == [("phone", "13800000002")]
    assert f"138****0002 was given, which belongs to customer #{b}" in \
        Customer.get_by_id(a).notes
    assert identity.find_or_create_customer("nobody", email="not an address") is None


def test_a_vouched_identifier_links_only_to_a_customer_found_by_a_vouched_one(
        backend, settings):
    known = identity.find_or_create_customer("A", external_id="integration-5:crm-9")
    # The PBX's own customer id found it: the line's number (vouched too) is linked.
    assert identity.find_or_create_customer(
        "", phone="13800000001", external_id="integration-5:crm-9",
        vouched={"external", "phone"}) == known
    assert ("phone", "13800000001") in contacts_of(known)
    # Found by a typed e-mail: the vouched number proves nothing about this customer.
    typed = identity.find_or_create_customer("B", email="b@example.com")
    assert identity.find_or_create_customer(
        "", phone="13800000002", email="b@example.com", vouched={"phone"}) == typed
    assert contacts_of(typed) == [("email", "b@example.com")]
    # Vouched identifiers are tried first: the caller's own number beats a typed address.
    assert identity.find_or_create_customer(
        "", phone="13800000001", email="b@example.com", vouched={"phone"}) == known
    assert identity.find_or_create_customer(
        "", phone="13800000001", email="b@example.com") == typed


def test_two_intakes_racing_for_one_new_address_end_on_one_customer(backend, settings):
    first_done, release = threading.Event(), threading.Event()
    results, errors = {}, []

    def first():
        try:
            with unit_of_work():
                results["a"] = identity.find_or_create_customer("A", email="race@example.com")
                first_done.set()
                release.wait(10)  # hold the transaction open while the second one runs
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_done.set()
            database.close()

    def second():
        first_done.wait(10)
        try:
            with unit_of_work():
                results["b"] = identity.find_or_create_customer(
                    "B", email="Race@Example.com", phone="13700137000")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_done.wait(10)
    time.sleep(0.5)  # the second transaction is now waiting on the first one's row or lock
    release.set()
    for t in threads:
        t.join(20)
    assert not errors, errors
    assert results["a"] == results["b"]
    assert Customer.select().count() == 1
    # The loser matched by the address it typed: its phone is a hint, not a contact.
    assert contacts_of(results["a"]) == [("email", "race@example.com")]
    assert "137****7000" in Customer.get_by_id(results["a"]).notes


# --- contact rules --------------------------------------------------------------------------------

def test_a_contact_of_another_customer_is_refused_naming_the_field_and_the_customer(
        backend, settings, site):
    owner = customers.create_customer(site.admin, "王五", contacts=[
        {"kind": "phone", "value": "+86 138 0013 8000"}])
    assert [(x.kind, x.value) for x in owner.contacts] == [("phone", "13800138000")]
    with pytest.raises(ValidationError) as exc:
        customers.create_customer(site.admin, "王五二", contacts=[
            {"kind": "email", "value": "w5@example.com"},
            {"kind": "phone", "value": "138 0013 8000"}])
    assert exc.value.fields == {"contacts.1": f"already belongs to customer #{owner.id} (王五)"}
    assert Customer.select().count() == 3  # two portal customers and 王五; nothing half-made
    other = customers.create_customer(site.admin, "赵六")
    with pytest.raises(ValidationError) as exc:
        customers.update_customer(site.admin, other.id, {"contacts": [
            {"kind": "external", "value": "crm:1"}, {"kind": "external", "value": "crm:1"}]})
    assert exc.value.fields == {"contacts.1": "listed twice"}
    # Its own contacts can be saved again unchanged.
    again = customers.update_customer(site.admin, owner.id, {"contacts": [
        {"kind": "phone", "value": "13800138000"}]})
    assert [(x.kind, x.value) for x in again.contacts] == [("phone", "13800138000")]


def test_agents_see_masked_contacts_unless_they_work_on_the_customer(backend, settings, site):
    c = customers.create_customer(site.admin, "王五", contacts=[
        {"kind": "phone", "value": "13812345678"}, {"kind": "email", "value": "zhang@example.com"}])
    masked = customers.get_customer(site.agent, c.id)
    assert masked.contacts_masked
    assert [x.value for x in masked.contacts] == ["138****5678", "z***@example.com"]
    assert customers.get_customer(site.supervisor, c.id).contacts[0].value == "13812345678"
    with pytest.raises(PermissionDenied):  # a masked reader would save the masks
        customers.update_customer(site.agent, c.id, {"contacts": [
            {"kind": "phone", "value": "138****5678"}]})
    customers.update_customer(site.agent, c.id, {"notes": "ok"})  # other fields are fine
    t = ticket(settings, site.admin, "王五的问题", customer_id=c.id, department_id=site.after_sales)
    assert customers.get_customer(site.agent, c.id).contacts[0].value == "13812345678"
    assert customers.get_customer(site.agent2, c.id).contacts_masked  # another department
    Ticket.update(status="closed").where(Ticket.id == t.summary.id).execute()
    assert customers.get_customer(site.agent, c.id).contacts_masked


# --- portal sign-up ---------------------------------------------------------------------------------

def test_signing_up_with_an_address_another_customer_holds_does_not_join_its_history(
        backend, settings, site):
    known = customers.create_customer(site.admin, "王五", contacts=[
        {"kind": "email", "value": "w5@example.com"}])
    old = ticket(settings, site.admin, "王五的旧工单", customer_id=known.id)
    user = customers.sign_up("stranger", "冒充者", "W5@Example.com", "Ein-langes-Passwort")
    assert user.customer_id != known.id
    assert contacts_of(user.customer_id) == []
    assert contacts_of(known.id) == [("email", "w5@example.com")]
    assert f"customer #{known.id}" in Customer.get_by_id(user.customer_id).notes
    from appliance.services import users
    portal = users.actor_of(user)
    with pytest.raises(NotFound):
        from appliance.services.tickets import get_ticket
        get_ticket(portal, old.summary.id, settings)
    hints = customer_merge.possible_duplicates(site.admin, known.id)
    assert [(h.customer.id, h.reasons) for h in hints] == [(user.customer_id, ("portal_email",))]


# --- merging ------------------------------------------------------------------------------------------

def test_a_merge_moves_everything_to_the_survivor_in_one_go(backend, settings, site):
    keep = customers.create_customer(site.admin, "华为采购部", company="华为", tags=["vip-gold"],
                                     notes="大客户", contacts=[
                                         {"kind": "email", "value": "buy@huawei.example"}])
    dup = customers.create_customer(site.admin, "华为采购部", tags=["printer", "vip-gold"],
                                    notes="电话里说是同一个部门", contacts=[
                                        {"kind": "phone", "value": "13800138000"},
                                        {"kind": "external", "value": "crm:77"}])
    t1 = ticket(settings, site.admin, "一", customer_id=dup.id).summary
    t2 = ticket(settings, site.admin, "二", customer_id=dup.id).summary
    call = conversation("call", "pbx-1", dup.id)
    Callback.create(ticket=t1.id, agent=site.agent.user_id, due_at=utcnow())
    login = User.get(User.username == "zhangsan")
    User.update(customer=dup.id).where(User.id == login.id).execute()
    AgentProfile.create(user=site.agent.user_id, allowed_customer_ids=[dup.id, 999])
    assert [h.customer.id for h in customer_merge.possible_duplicates(site.admin, keep.id)] \
        == [dup.id]

    survivor = customer_merge.merge_customers(site.supervisor, dup.id, keep.id,
                                              expected_version=dup.version)

    assert survivor.id == keep.id and survivor.tags == ["vip-gold", "printer"]
    assert survivor.notes.startswith("大客户\n\n--- merged from customer #")
    assert survivor.notes.endswith("电话里说是同一个部门")
    assert contacts_of(keep.id) == [("email", "buy@huawei.example"), ("external", "crm:77"),
                                    ("phone", "13800138000")]
    assert {t.customer_id for t in Ticket.select().where(Ticket.id.in_([t1.id, t2.id]))} \
        == {keep.id}
    assert Callback.get().ticket.customer_id == keep.id  # callbacks follow their ticket
    assert Conversation.get_by_id(call.id).customer_id == keep.id
    assert User.get_by_id(login.id).customer_id == keep.id
    assert AgentProfile.get_by_id(site.agent.user_id).allowed_customer_ids == [keep.id, 999]
    events = TimelineEvent.select().where(TimelineEvent.kind == "customer_merged")
    assert sorted(e.ticket_id for e in events) == [t1.id, t2.id]
    source = Customer.get_by_id(dup.id)
    assert source.merged_into_id == keep.id and source.merged_at is not None
    assert dup.id not in [c.id for c in customers.list_customers(site.admin).items]
    assert customers.get_customer(site.admin, dup.id).merged_into == keep.id
    assert identity.match_customer(phone="13800138000") == keep.id
    assert identity.find_or_create_customer("x", external_id="crm:77") == keep.id
    # Repeating the merge changes nothing and answers with the survivor.
    again = customer_merge.merge_customers(site.supervisor, dup.id, keep.id)
    assert again.id == keep.id and again.version == survivor.version


def test_a_merged_customer_is_resolved_to_its_survivor_when_matched(backend, settings, site):
    a = customers.create_customer(site.admin, "A")
    b = customers.create_customer(site.admin, "B", contacts=[{"kind": "email", "value": "b@x.cn"}])
    customer_merge.merge_customers(site.admin, a.id, b.id)
    # A contact left on the merged row (e.g. written by an old client) still leads on.
    contacts.add(a.id, "phone", "13811112222")
    assert identity.match_customer(phone="13811112222") == b.id
    assert identity.survivor(a.id) == b.id


def test_a_ticket_filed_under_a_merged_customer_lands_on_the_survivor(backend, settings, site):
    a = customers.create_customer(site.admin, "A")
    b = customers.create_customer(site.admin, "B")
    customer_merge.merge_customers(site.admin, a.id, b.id)
    t = tickets.create_ticket(site.agent, tickets.TicketInput(
        subject="旧链接", description="客户编号来自合并前", customer_id=a.id), settings)
    assert Ticket.get_by_id(t.summary.id).customer_id == b.id


def test_merging_is_refused_without_permission_into_itself_or_into_a_merged_customer(
        backend, settings, site):
    a = customers.create_customer(site.admin, "A", contacts=[{"kind": "email", "value": "a@x.cn"}])
    b = customers.create_customer(site.admin, "B")
    c = customers.create_customer(site.admin, "C")
    t = ticket(settings, site.admin, "A 的工单", customer_id=a.id).summary
    with pytest.raises(PermissionDenied):
        customer_merge.merge_customers(site.agent, a.id, b.id)
    with pytest.raises(PermissionDenied):
        customer_merge.merge_customers(site.customer, a.id, b.id)
    with pytest.raises(ValidationError) as exc:
        customer_merge.merge_customers(site.admin, a.id, a.id)
    assert exc.value.fields == {"into": "cannot merge a customer into itself"}
    with pytest.raises(Conflict):
        customer_merge.merge_customers(site.admin, a.id, b.id, expected_version=a.version + 1)
    with pytest.raises(NotFound):
        customer_merge.merge_customers(site.admin, a.id, 99999)
    assert Ticket.get_by_id(t.id).customer_id == a.id  # nothing moved by a refused merge
    assert contacts_of(a.id) == [("email", "a@x.cn")]
    customer_merge.merge_customers(site.admin, b.id, c.id)
    with pytest.raises(ValidationError) as exc:
        customer_merge.merge_customers(site.admin, a.id, b.id)
    assert exc.value.fields == {"into": f"that customer was merged into customer #{c.id}; "
                                        "merge into that one"}
    with pytest.raises(Conflict):
        customer_merge.merge_customers(site.admin, b.id, a.id)  # b is gone already
    assert Ticket.get_by_id(t.id).customer_id == a.id


# --- the profile panel ---------------------------------------------------------------------------

def test_the_panel_shows_the_customer_tickets_and_conversations_masked_by_role(
        backend, settings, site):
    c = customers.create_customer(site.admin, "王五", company="五金", tags=["VIP", "批发"],
                                  contacts=[{"kind": "phone", "value": "13812345678"}])
    now = ticket(settings, site.admin, "现在的", customer_id=c.id,
                 department_id=site.logistics).summary
    other = ticket(settings, site.admin, "另一个", customer_id=c.id,
                   department_id=site.logistics).summary
    done = ticket(settings, site.admin, "以前的", customer_id=c.id,
                  department_id=site.logistics).summary
    Ticket.update(status="closed").where(Ticket.id == done.id).execute()
    chat = conversation("chat", "c-1", c.id)
    Conversation.update(ticket=now.id, outcome="ticket").where(Conversation.id == chat.id).execute()
    conversation("chat", "c-other", None)

    p = customer_profile.ticket_customer_panel(site.agent2, now.id)  # logistics agent
    assert (p.customer.name, p.customer.company, p.vip_tier) == ("王五", "五金", "vip")
    assert p.customer.contacts[0].value == "13812345678"
    assert [t.id for t in p.open_tickets] == [other.id]
    assert [t.id for t in p.past_tickets] == [done.id]
    assert [(v.channel, v.outcome, v.ticket.name) for v in p.conversations] == [
        ("chat", "ticket", now.number)]
    admin = customer_profile.ticket_customer_panel(site.admin, now.id)
    assert admin.customer.contacts[0].value == "13812345678"
    bare = ticket(settings, site.admin, "无客户").summary  # triage pool: agents see it
    assert customer_profile.ticket_customer_panel(site.agent, bare.id) is None
    Ticket.update(department=None).where(Ticket.id == now.id).execute()
    Ticket.update(status="closed").where(Ticket.id == other.id).execute()
    # Now only in the triage pool: 王芳 may see the ticket but does not work on the customer.
    seen = customer_profile.ticket_customer_panel(site.agent, now.id)
    assert seen.customer.contacts_masked and seen.customer.contacts[0].value == "138****5678"
    with pytest.raises(PermissionDenied):
        customer_profile.ticket_customer_panel(site.customer, now.id)
