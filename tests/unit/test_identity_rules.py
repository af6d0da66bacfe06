"""Pure identity rules: how contacts are normalised, and how they are masked per role."""
from __future__ import annotations

import pytest

from appliance.rules.pii import mask_contact, sees_full_contacts
from appliance.services.identity import normalize


@pytest.mark.parametrize("kind, raw, stored", [
    ("email", "  Zhang.San@Example.COM ", "zhang.san@example.com"),
    ("email", "<zhang@example.com>", "zhang@example.com"),
    ("email", "mailto:Zhang@Example.com", "zhang@example.com"),
    ("email", "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhang@example.com"),
    ("email", "zhang@", ""),
    ("email", "a@b.c\r\nBcc: x@y.z", ""),
    ("phone", "13800138000", "13800138000"),
    ("phone", "+86 138-0013-8000", "13800138000"),
    ("phone", "0086 13800138000", "13800138000"),
    ("phone", "8613800138000", "13800138000"),
    ("phone", "tel:+86-10-6234-5678", "01062345678"),
    ("phone", "(010) 6234 5678", "01062345678"),
    ("phone", "１３８００１３８０００", "13800138000"),
    ("phone", "+44 20 7123 4567", "+442071234567"),
    ("phone", "0044 20 7123 4567", "+442071234567"),
    ("phone", "1234", ""),
    ("phone", "call me 13800138000", ""),
    ("phone", "+1" + "2" * 21, ""),
    ("external", "  crm:12345 ", "crm:12345"),
    ("external", "WX:OpenID-Ab", "WX:OpenID-Ab"),
    ("external", "crm:1\n2", ""),
    ("external", "x" * 255, ""),
    ("fax", "123456", ""),
    ("email", None, ""),
])
def test_contacts_are_stored_in_one_form_per_kind(kind, raw, stored):
    assert normalize(kind, raw) == stored


@pytest.mark.parametrize("kind, value, shown", [
    ("phone", "13812345678", "138****5678"),
    ("phone", "01062345678", "010****5678"),
    ("phone", "+442071234567", "+442****4567"),
    ("phone", "123456", "****56"),
    ("email", "zhang@example.com", "z***@example.com"),
    ("external", "crm:12345", "crm:***45"),
    ("external", "abc", "***"),
])
def test_masked_contacts_keep_only_enough_to_tell_them_apart(kind, value, shown):
    assert mask_contact(kind, value) == shown


def test_only_supervisors_admins_and_agents_working_on_the_customer_see_contacts_in_full():
    assert sees_full_contacts("admin", False) and sees_full_contacts("supervisor", False)
    assert sees_full_contacts("agent", True) and not sees_full_contacts("agent", False)
    assert not sees_full_contacts("customer", True)
