"""Directory groups to role and department (appliance.rules.directory) and the ldap_* settings."""
import pytest

from appliance.rules.directory import department_for_groups, normalize_dn, role_for_groups
from appliance.settings import SettingsError, load_settings

AGENTS, LEADS = "cn=agents,ou=groups,dc=example,dc=com", "cn=leads,ou=groups,dc=example,dc=com"
ADMINS, AUDIT = "cn=admins,ou=groups,dc=example,dc=com", "cn=audit,ou=groups,dc=example,dc=com"
ROLES = ((AGENTS, "agent"), (LEADS, "supervisor"), (ADMINS, "admin"), (AUDIT, "audit_admin"))


def test_the_most_privileged_mapped_role_wins_whatever_the_order():
    assert role_for_groups([AGENTS, LEADS], ROLES, False) == "supervisor"
    assert role_for_groups([LEADS, AGENTS], tuple(reversed(ROLES)), False) == "supervisor"
    assert role_for_groups([AUDIT, ADMINS], ROLES, True) == "admin"
    assert role_for_groups(["cn=other,dc=example,dc=com"], ROLES, True) is None


def test_administrator_roles_count_only_when_allowed():
    assert role_for_groups([ADMINS, AGENTS], ROLES, False) == "agent"
    assert role_for_groups([AUDIT], ROLES, False) is None
    assert role_for_groups([AUDIT], ROLES, True) == "audit_admin"


def test_group_dns_compare_without_case_or_spaces():
    assert normalize_dn("CN=Agents, OU=Groups,DC=Example, DC=com") == AGENTS
    assert role_for_groups(["CN=Agents, OU=Groups, DC=example, DC=com"], ROLES, False) == "agent"


def test_the_first_matching_department_entry_wins():
    mapping = ((LEADS, "AS"), (AGENTS, "LOG"))
    assert department_for_groups([AGENTS, LEADS], mapping) == "AS"
    assert department_for_groups([AGENTS], mapping) == "LOG"
    assert department_for_groups([], mapping) is None


def _load(tmp_path, toml, **env):
    path = tmp_path / "g.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path, environ={f"GONGDAN_{k.upper()}": v for k, v in env.items()})


BASE = 'ldap_url = "ldaps://ldap.example.com"\nldap_user_base = "ou=people,dc=example,dc=com"\n'


def test_group_mappings_come_from_a_toml_table_or_a_json_environment_variable(tmp_path):
    s = _load(tmp_path, BASE + f'[ldap_group_roles]\n"{AGENTS}" = "agent"\n"{LEADS}" = "supervisor"\n')
    assert s.ldap_group_roles == ((AGENTS, "agent"), (LEADS, "supervisor"))
    s = _load(tmp_path, BASE, ldap_group_departments='{"%s": "AS"}' % AGENTS)
    assert s.ldap_group_departments == ((AGENTS, "AS"),)


@pytest.mark.parametrize("toml,env,key", [
    ('ldap_url = "http://ldap.example.com"\n', {}, "ldap_url"),
    ('ldap_url = "ldap://ldap.example.com"\nldap_starttls = false\n', {}, "ldap_starttls"),
    ('ldap_url = "ldaps://ldap.example.com"\n', {}, "ldap_user_base"),
    (BASE + 'ldap_user_filter = "uid=x"\n', {}, "ldap_user_filter"),
    (BASE + f'[ldap_group_roles]\n"{AGENTS}" = "wizard"\n', {}, "ldap_group_roles"),
    (BASE + f'[ldap_group_roles]\n"{AGENTS}" = "customer"\n', {}, "ldap_group_roles"),
    (BASE, {"ldap_group_roles": "cn=agents"}, "ldap_group_roles"),
    (BASE + 'ldap_ca_file = "/no/such/ca.pem"\n', {}, "ldap_ca_file"),
])
def test_bad_directory_settings_stop_start_up_naming_the_key(tmp_path, toml, env, key):
    with pytest.raises(SettingsError, match=f"'{key}'"):
        _load(tmp_path, toml, **env)


def test_plain_ldap_is_allowed_on_loopback_or_when_explicitly_insecure(tmp_path):
    plain = 'ldap_user_base = "ou=people,dc=example,dc=com"\nldap_starttls = false\n'
    assert not _load(tmp_path, plain + 'ldap_url = "ldap://127.0.0.1:389"\n').ldap_starttls
    assert _load(tmp_path, plain + 'ldap_url = "ldap://ldap.example.com"\n'
                 'ldap_allow_insecure = true\n').ldap_allow_insecure
