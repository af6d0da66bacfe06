"""Mailboxes: the addresses Gongdan receives mail for, and the department each feeds."""
from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Department, Mailbox
from appliance.rules.access import Actor, can_manage_org
from appliance.services import common

# Deliberately plain: the address is ours and typed by an administrator, not parsed mail.
_ADDRESS = re.compile(r"^[a-z0-9._%+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$")


@dataclass(frozen=True)
class MailboxView:
    id: int
    address: str
    name: str
    department_code: str | None
    active: bool


def _view(m: Mailbox) -> MailboxView:
    code = m.department.code if m.department_id else None
    return MailboxView(m.id, m.address, m.name, code, m.active)


def _require_admin(actor: Actor) -> None:
    if not can_manage_org(actor):
        raise PermissionDenied("administrators only")


def add_mailbox(actor: Actor, address: str, *, department_code: str, name: str = ""
                ) -> MailboxView:
    """Register an address; new tickets mailed to it go to the department."""
    _require_admin(actor)
    address = common.clean_text(address, "address", required=True, max_len=254,
                                single_line=True).lower()
    if not _ADDRESS.match(address):
        raise ValidationError({"address": "not a valid e-mail address"})
    name = common.clean_text(name, "name", max_len=100, single_line=True)
    with unit_of_work():
        department = Department.get_or_none(Department.code == (department_code or "").strip())
        if department is None:
            raise ValidationError({"department": "does not exist"})
        if Mailbox.select().where(Mailbox.address == address).exists():
            raise ValidationError({"address": "already a mailbox"})
        mailbox = Mailbox.create(address=address, name=name, department=department.id)
    return _view(mailbox)


def list_mailboxes(actor: Actor) -> list[MailboxView]:
    _require_admin(actor)
    return [_view(m) for m in Mailbox.select().order_by(Mailbox.address)]
