"""Directory groups to role and department (pure; decision 0028).

A person may be in several mapped groups. The role is the most privileged one by
ROLE_ORDER (least to most): agent, supervisor, audit_admin, security_admin, admin
(settings allow staff roles only). The three administrator roles of 三权分立 are not comparable in duty; their order
here only settles the rare person mapped to several, and is the order of how much each
can change (audit reads, security sets policy, system runs the box). Administrator roles
count only when the setting ldap_allow_admin_roles allows it: otherwise whoever can write
group memberships in the directory could make themselves an administrator of Gongdan
without anyone in Gongdan granting it.
"""
from __future__ import annotations

ROLE_ORDER = ("agent", "supervisor", "audit_admin", "security_admin", "admin")
ADMIN_ROLES = frozenset({"admin", "security_admin", "audit_admin"})


def normalize_dn(dn: str) -> str:
    """DNs compare case-insensitively and without spaces around , and = (RFC 4514 allows
    both spellings; AD and OpenLDAP print them differently)."""
    parts = []
    for rdn in dn.split(","):
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def role_for_groups(groups: list[str], mapping: tuple[tuple[str, str], ...],
                    allow_admin: bool) -> str | None:
    """The most privileged mapped role of these groups; None if no group is mapped."""
    member_of = {normalize_dn(g) for g in groups}
    roles = [role for group, role in mapping
             if normalize_dn(group) in member_of and role in ROLE_ORDER
             and (allow_admin or role not in ADMIN_ROLES)]
    return max(roles, key=ROLE_ORDER.index) if roles else None


def department_for_groups(groups: list[str], mapping: tuple[tuple[str, str], ...]) -> str | None:
    """The department code of the first mapping entry (in configuration order) that
    matches one of the groups."""
    member_of = {normalize_dn(g) for g in groups}
    for group, code in mapping:
        if normalize_dn(group) in member_of:
            return code
    return None
