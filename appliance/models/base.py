"""Base model bound to the database proxy; times are stored as naive UTC."""
from __future__ import annotations

import datetime as dt

import peewee

from appliance.db import database


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def create(cls, **query):
        """Model.create with the INSERT statement's text built once per model, columns and
        database kind: building it is most of an insert's CPU, and a ticket's creation
        makes several (docs/decisions/0056). Anything the cached form might get wrong
        (an SQL expression or an unsaved model as a value, a primary key given, an
        overridden save) takes peewee's own path."""
        inst = cls(**query)
        done = _fast_insert(cls, inst.__data__) if _plain(cls, inst.__data__) else None
        if done is None:
            inst.save(force_insert=True)
            return inst
        inst._pk = done
        inst._dirty.clear()
        return inst


# (model, field names, database class, which values are wrapped in a function such as
# json(?)) -> (sql, fields) or None where the cached form would differ from peewee's
_INSERTS: dict = {}


def _plain(cls, data: dict) -> bool:
    pk = cls._meta.primary_key
    return cls.save is peewee.Model.save and cls._meta.auto_increment and pk is not False \
        and not cls._meta.composite_key and data.get(pk.name) is None \
        and not any(isinstance(v, (peewee.Node, peewee.Model)) for v in data.values())


def _fast_insert(cls, data: dict):
    """The new row's id, or None when this insert must take peewee's path."""
    db = cls._meta.database
    names = tuple(n for n in data if n != cls._meta.primary_key.name)
    fields = [f for f in cls._meta.sorted_fields if f.name in data and f.name in names]
    values = [f.db_value(data[f.name]) for f in fields]
    wrapped = tuple(isinstance(v, peewee.Node) for v in values)
    key = (cls, names, type(getattr(db, "obj", db)), wrapped)
    if key not in _INSERTS:
        _INSERTS[key] = _build_plan(cls, data, names, values, wrapped)
    plan = _INSERTS[key]
    if plan is None:
        return None
    params = [_argument(v) if w else v for v, w in zip(values, wrapped)]
    if any(isinstance(p, peewee.Node) for p in params):
        return None
    cursor = db.execute_sql(plan, params)
    return cursor.fetchone()[0] if " RETURNING " in plan.upper() else cursor.lastrowid


def _argument(node):
    """The one plain argument of a wrapping function (a JSON field's json(?))."""
    args = getattr(node, "arguments", None)
    return args[0] if isinstance(node, peewee.Function) and args and len(args) == 1 else node


def _build_plan(cls, data: dict, names: tuple, values: list, wrapped: tuple) -> str | None:
    """The statement peewee itself would run, when the parameters computed from the
    fields in order are exactly peewee's own (same types and values)."""
    sql, params = cls.insert({n: data[n] for n in names}).sql()
    ours = [_argument(v) if w else v for v, w in zip(values, wrapped)]
    same = len(ours) == len(params) and all(
        not isinstance(a, peewee.Node) and not isinstance(b, peewee.Node)
        and type(a) is type(b) and a == b for a, b in zip(ours, params))
    return sql if same else None
