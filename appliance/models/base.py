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
        (an SQL expression or a model as a value, a primary key given, an overridden
        save) takes peewee's own path."""
        inst = cls(**query)
        done = _fast_insert(cls, inst.__data__) if _plain(cls, inst.__data__) else _PEEWEE
        if done is _PEEWEE:
            inst.save(force_insert=True)
            return inst
        inst._pk = done
        inst._dirty.clear()
        return inst


_PEEWEE = object()   # "take peewee's path" (an id, even None, means the row was inserted)
# (model, field names, database class, which values are wrapped in a function such as
# json(?)) -> (sql, returning) or None where the cached form would differ from peewee's
_INSERTS: dict = {}


def _plain(cls, data: dict) -> bool:
    pk = cls._meta.primary_key
    return cls.save is peewee.Model.save and cls._meta.auto_increment and pk is not False \
        and not cls._meta.composite_key and data.get(pk.name) is None \
        and not any(isinstance(v, (peewee.Node, peewee.Model)) for v in data.values())


def _fast_insert(cls, data: dict):
    """The new row's id, or _PEEWEE when this insert must take peewee's path."""
    db = cls._meta.database
    names = tuple(n for n in data if n != cls._meta.primary_key.name)
    fields = [f for f in cls._meta.sorted_fields if f.name in names]
    values = [f.db_value(data[f.name]) for f in fields]
    wrapped = tuple(isinstance(v, peewee.Node) for v in values)
    key = (cls, names, type(getattr(db, "obj", db)), wrapped)
    if key not in _INSERTS:
        _INSERTS[key] = _build_plan(cls, data, names, values, wrapped)
    plan = _INSERTS[key]
    params = [_argument(v) if w else v for v, w in zip(values, wrapped)]
    if plan is None or any(isinstance(p, peewee.Node) for p in params):
        return _PEEWEE
    sql, returning = plan
    cursor = db.execute_sql(sql, params)
    return cursor.fetchone()[0] if returning else cursor.lastrowid


def _argument(node):
    """The one plain argument of a wrapping function (a JSON field's json(?))."""
    args = getattr(node, "arguments", None)
    return args[0] if isinstance(node, peewee.Function) and args and len(args) == 1 else node


def _same(a, b) -> bool:
    """Exactly the same parameter: type and value; a driver's adapter (psycopg2's Json for
    a JSON field, Binary for a blob) by what it adapts, having no equality of its own."""
    if isinstance(a, peewee.Node) or isinstance(b, peewee.Node) or type(a) is not type(b):
        return False
    return getattr(a, "adapted", a) == getattr(b, "adapted", b)


def _build_plan(cls, data: dict, names: tuple, values: list, wrapped: tuple):
    """The statement peewee itself would run and whether it returns the new id, when the
    parameters computed from the fields in order are exactly peewee's own."""
    query = cls.insert({n: data[n] for n in names})
    sql, params = query.sql()
    ours = [_argument(v) if w else v for v, w in zip(values, wrapped)]
    if len(ours) != len(params) or not all(_same(a, b) for a, b in zip(ours, params)):
        return None
    return sql, bool(query._returning)
