"""Shared infrastructure: settings, database, Redis, errors, security, HTTP middleware, dependencies.

Importing it makes `{name:uuid}` in a route path match a UUID in any case (Starlette's own
converter takes lowercase only; Swift's `UUID.uuidString` is uppercase). An id path then never
swallows a literal sibling (`/photos/order` is not a `{photo_id}`), so a wrong method there is a
405 naming the methods the path takes, and a path segment that is no UUID is a 404.
"""

from __future__ import annotations

import uuid

from starlette.convertors import Convertor, register_url_convertor


class UUIDConvertor(Convertor[uuid.UUID]):
    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        return str(value)


register_url_convertor("uuid", UUIDConvertor())
