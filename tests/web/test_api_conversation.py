"""REST API conversation and relations: comments, attachments (upload and download),
links, merge, sub-tickets and split."""
import io
from pathlib import Path

import pytest

from appliance.models import Attachment, Comment
from tests.conftest import with_settings
from tests.factories import ticket
from tests.web.apiclient import ApiClient, api, token_for  # noqa: F401
from webapp import create_app

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


@pytest.fixture
def tid(settings, org):
    """A ticket of the customer 张三, in after-sales."""
    return ticket(settings, org.customer, "屏幕坏了").summary.id


def stored_files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(client, tid, files, **fields):
    data = {**fields, "file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/tickets/{tid}/attachments", data=data,
                       content_type="multipart/form-data")


# -- comments --------------------------------------------------------------------------------

def test_an_agent_replies_and_the_customer_sees_the_reply(api, tid):
    r = api("wangfang").post(f"/tickets/{tid}/comments", json={"body": "您好，请重启"})
    assert r.status_code == 201
    assert r.get_json()["author"]["name"] == "王芳" and r.get_json()["internal"] is False
    shown = api("zhangsan").get(f"/tickets/{tid}").get_json()["comments"]
    assert [c["body"] for c in shown] == ["您好，请重启"]


def test_an_internal_note_is_hidden_from_the_customer(api, tid):
    r = api("wangfang").post(f"/tickets/{tid}/comments", json={"body": "内部", "internal": True})
    assert r.status_code == 201 and r.get_json()["internal"] is True
    assert api("zhangsan").get(f"/tickets/{tid}").get_json()["comments"] == []


def test_a_customer_cannot_write_an_internal_note(api, tid):
    r = api("zhangsan").post(f"/tickets/{tid}/comments", json={"body": "x", "internal": True})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert Comment.select().count() == 0


def test_a_customer_cannot_comment_on_another_customers_ticket(api, tid):
    assert api("lisi").post(f"/tickets/{tid}/comments", json={"body": "x"}).status_code == 404


def test_an_empty_comment_is_a_validation_error(api, tid):
    r = api("wangfang").post(f"/tickets/{tid}/comments", json={"body": "  "})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"body": "required"}


# -- attachments -----------------------------------------------------------------------------

def test_files_are_uploaded_with_a_comment_and_downloaded_as_attachments(api, tid, settings):
    client = api("wangfang")
    r = upload(client, tid, [("screen.png", PNG), ("log.txt", b"boot failed")], body="见附件")
    assert r.status_code == 201, r.get_json()
    comment = r.get_json()
    assert comment["body"] == "见附件"
    assert [a["filename"] for a in comment["attachments"]] == ["screen.png", "log.txt"]
    got = client.get(f"/attachments/{comment['attachments'][0]['id']}")
    assert got.status_code == 200 and got.data == PNG
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.mimetype == "image/png"


def test_a_customer_can_download_public_but_not_internal_attachments(api, tid):
    agent = api("wangfang")
    public = upload(agent, tid, [("a.png", PNG)]).get_json()["attachments"][0]["id"]
    internal = upload(agent, tid, [("b.png", PNG)], internal="true").get_json()
    customer = api("zhangsan")
    assert customer.get(f"/attachments/{public}").status_code == 200
    r = customer.get(f"/attachments/{internal['attachments'][0]['id']}")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_another_customer_cannot_download_by_guessing_the_id(api, tid):
    att = upload(api("wangfang"), tid, [("a.png", PNG)]).get_json()["attachments"][0]["id"]
    assert api("lisi").get(f"/attachments/{att}").status_code == 404


def test_a_disallowed_file_type_is_415_and_nothing_is_stored(api, tid, settings):
    r = upload(api("wangfang"), tid, [("ok.png", PNG), ("run.exe", b"MZ\x90\x00")])
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "unsupported_media_type"
    assert stored_files(settings) == [] and Attachment.select().count() == 0
    assert Comment.select().count() == 0


def test_html_renamed_to_png_is_415(api, tid, settings):
    r = upload(api("wangfang"), tid, [("x.png", b"<html><script>alert(1)</script></html>")])
    assert r.status_code == 415 and stored_files(settings) == []


def test_a_file_over_the_attachment_limit_is_413_and_nothing_is_stored(settings, org, tid):
    small = create_app(with_settings(settings, max_attachment_bytes=100))
    client = ApiClient(small, token_for("wangfang"))
    r = upload(client, tid, [("ok.png", PNG), ("big.png", PNG + b"\x00" * 200)])
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"
    assert stored_files(settings) == [] and Attachment.select().count() == 0


def test_an_upload_over_the_request_limit_is_413(settings, org, tid):
    small = create_app(with_settings(settings, max_request_bytes=1024))
    r = upload(ApiClient(small, token_for("wangfang")), tid, [("big.txt", b"x" * 4096)])
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"
    assert stored_files(settings) == []


def test_attachments_must_be_sent_as_multipart(api, tid):
    r = api("wangfang").post(f"/tickets/{tid}/attachments", json={"file": "aGVsbG8="})
    assert r.status_code == 415


def test_an_upload_without_files_or_with_unknown_fields_is_400(api, tid):
    client = api("wangfang")
    r = client.post(f"/tickets/{tid}/attachments", data={"body": "x"},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"file": "required"}
    r = upload(client, tid, [("a.png", PNG)], author_id="1")
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"author_id": "unknown field"}


def test_path_tricks_in_a_file_name_are_dropped(api, tid):
    r = upload(api("wangfang"), tid, [("../../etc/passwd.txt", b"root")])
    assert r.status_code == 201 and r.get_json()["attachments"][0]["filename"] == "passwd.txt"


# -- links, merge, sub-tickets, split --------------------------------------------------------

def test_tickets_are_linked_and_unlinked(api, tid, settings, org):
    other = ticket(settings, org.admin, "同一问题").summary.id
    client = api("wangfang")
    r = client.post(f"/tickets/{tid}/links", json={"target_id": other, "kind": "related"})
    assert r.status_code == 201
    assert [(lk["kind"], lk["ticket_id"]) for lk in r.get_json()["links"]] == [("related", other)]
    again = client.post(f"/tickets/{tid}/links", json={"target_id": other, "kind": "related"})
    assert again.status_code == 409
    r = client.delete(f"/tickets/{tid}/links/related/{other}")
    assert r.status_code == 200 and r.get_json()["links"] == []
    assert client.delete(f"/tickets/{tid}/links/related/{other}").status_code == 404


def test_a_link_to_a_ticket_the_agent_cannot_see_is_404(api, tid, settings, org):
    hidden = ticket(settings, org.admin, "物流", department_id=org.logistics).summary.id
    r = api("wangfang").post(f"/tickets/{tid}/links", json={"target_id": hidden, "kind": "related"})
    assert r.status_code == 404


def test_a_customer_cannot_link_tickets(api, tid, settings, org):
    other = ticket(settings, org.customer, "第二个").summary.id
    r = api("zhangsan").post(f"/tickets/{tid}/links", json={"target_id": other, "kind": "related"})
    assert r.status_code == 403


def test_a_ticket_is_merged_into_another(api, tid, settings, org):
    target = ticket(settings, org.customer, "屏幕坏了 (重复)").summary.id
    client = api("wangfang")
    client.post(f"/tickets/{tid}/comments", json={"body": "第一条回复"})
    r = client.post(f"/tickets/{tid}/merge", json={"target_id": target})
    assert r.status_code == 200 and r.get_json()["summary"]["id"] == target
    assert [c["body"] for c in r.get_json()["comments"]] == ["第一条回复"]
    source = client.get(f"/tickets/{tid}").get_json()
    assert source["summary"]["status"] == "closed" and source["merged_into"]["id"] == target
    assert client.post(f"/tickets/{tid}/merge", json={"target_id": target}).status_code == 409


def test_a_sub_ticket_is_opened_for_another_department(api, tid, org):
    api("admin").patch(f"/tickets/{tid}", json={"department_id": org.after_sales})
    r = api("wangfang").post(f"/tickets/{tid}/subtickets",
                             json={"subject": "物流取件", "department_id": org.logistics})
    assert r.status_code == 201
    child = r.get_json()
    assert [(lk["kind"], lk["ticket_id"]) for lk in child["links"]] == [("parent", tid)]
    parent = api("wangfang").get(f"/tickets/{tid}").get_json()
    assert parent["children_progress"] == [0, 1]


def test_a_comment_is_split_into_a_new_related_ticket(api, tid):
    client = api("wangfang")
    comment = client.post(f"/tickets/{tid}/comments", json={"body": "另外，键盘也坏了"}).get_json()
    r = client.post(f"/tickets/{tid}/split", json={"comment_id": comment["id"], "subject": "键盘"})
    assert r.status_code == 201
    new = r.get_json()
    assert new["summary"]["subject"] == "键盘"
    assert [c["body"] for c in new["comments"]] == ["另外，键盘也坏了"]
    assert [(lk["kind"], lk["ticket_id"]) for lk in new["links"]] == [("related", tid)]


def test_splitting_a_comment_of_another_ticket_is_404(api, tid, settings, org):
    other = ticket(settings, org.customer, "别的").summary.id
    comment = api("wangfang").post(f"/tickets/{other}/comments", json={"body": "x"}).get_json()
    r = api("wangfang").post(f"/tickets/{tid}/split", json={"comment_id": comment["id"]})
    assert r.status_code == 404
