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
