"""Duplicate-customer hints on SQLite and PostgreSQL: the same name in any script, case
and spacing aside, gives the same hints on both; a phone number that is another
customer's external id is found in both directions by exact lookups only."""
from __future__ import annotations

import pytest

from appliance.models import Customer, CustomerContact
from appliance.services import contacts as contact_store, customer_merge, customer_names, customers
from tests.factories import make_org


@pytest.fixture
def site(settings):
    return make_org()


def person(name: str, company: str = "", **contacts: str) -> int:
    """A customer stored as intake or an older version may have left it (spacing kept)."""
    c = customer_names.create(name, company=company)
    for kind, value in contacts.items():
        contact_store.add(c.id, kind, value)
    return c.id


def hints(site, customer_id: int) -> dict[int, tuple[str, ...]]:
    return {h.customer.id: h.reasons
            for h in customer_merge.possible_duplicates(site.agent, customer_id)}


def test_the_same_latin_name_in_another_case_and_spacing_is_hinted_on_both_backends(
        backend, settings, site):
    emile = person("Émile Zola")
    lower = person("émile  zola")
    upper = person("ÉMILE ZOLA", company="Les Éditions")
    person("Emile Zola")        # another name: no accent
    person("Émile Zolas")       # another name: one letter more
    other = person("Émile Zola", company="Other")
    same = ("same_name",)
    assert hints(site, lower) == {emile: same, upper: same, other: same}
    assert hints(site, emile) == {lower: same, upper: same, other: same}
    assert hints(site, upper) == {emile: same, lower: same}  # both companies given, differ


def test_chinese_greek_and_cyrillic_names_match_case_aside(backend, settings, site):
    wang = customers.create_customer(site.admin, "王小明", company="华为").id
    wang2 = person(" 王小明 ")
    person("王小明", company="中兴")
    odysseus = person("ΟΔΥΣΣΈΑΣ")
    odysseus2 = person("οδυσσέας")
    ivan = person("Иван Петров")
    ivan2 = person("ИВАН   ПЕТРОВ")
    assert hints(site, wang) == {wang2: ("same_name",)}
    assert hints(site, odysseus2) == {odysseus: ("same_name",)}
    assert hints(site, ivan) == {ivan2: ("same_name",)}


def test_like_wildcards_in_a_name_are_taken_literally(backend, settings, site):
    percent = person("100% Zola")
    person("100 abc Zola")
    underscore = person("a_b")
    person("axb")
    assert hints(site, percent) == {} and hints(site, underscore) == {}
    same = person("100%  ZOLA")
    assert hints(site, percent) == {same: ("same_name",)}


def test_a_phone_that_is_another_customers_external_id_is_hinted_both_ways_without_like(
        backend, settings, site, queries):
    phone = person("甲", phone="13800138000")
    wechat = person("乙", external="wechat:13800138000")
    plain = person("丙", external="13800138000")
    nested = person("丁", external="crm:cn:13800138000")
    person("戊", external="wechat:13800138001")
    person("己", external="wechat:813800138000")

    assert hints(site, phone) == {wechat: ("phone_in_external",),
                                  plain: ("phone_in_external",),
                                  nested: ("phone_in_external",)}
    assert hints(site, wechat) == {phone: ("phone_in_external",)}
    assert hints(site, plain) == {phone: ("phone_in_external",)}
    # Exact lookups on the contacts' unique index: no LIKE over all external ids.
    on_contacts = [q for q in queries if "customer_contact" in q]
    assert on_contacts and not [q for q in on_contacts if "LIKE" in q.upper()]


TRICKY = ["Straße", "STRASSE", "strasse", "\u212aelvin", "kelvin", "KELVIN", "İstanbul",
          "istanbul", "ISTANBUL", "ǅemal", "ǆemal", "Ǆemal", "Σοφία", "ΣΟΦΊΑ", "σοφία",
          "ﬁne", "FINE", "Ａｌｉ", "ａｌｉ", "ALI", "O'Brien", "o'brien", "100%", "王　小明",
          "王 小明"]


def test_same_name_hints_find_exactly_the_names_with_the_same_key(backend, settings, site):
    """Whatever characters a name holds, every stored name with the same comparison form is
    found through the blind index, and no other (names are encrypted: no SQL comparison)."""
    ids = {name: person(name) for name in TRICKY}
    key = customer_names.name_key
    for name, cid in ids.items():
        expected = {ids[other] for other in TRICKY if other != name and key(other) == key(name)}
        assert set(hints(site, cid)) == expected, name
