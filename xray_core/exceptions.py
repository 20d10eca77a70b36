"""Exceptions raised by X-Ray. Every one derives from :class:`XRayError`."""

from __future__ import annotations


class XRayError(Exception):
    """Base class of every X-Ray error."""


class StoreError(XRayError):
    """A store could not read or write (raised only by stores created with ``strict=True``)."""


class SchemaVersionError(StoreError):
    """The database was written by a newer X-Ray; it is refused and left untouched."""


class QueryError(XRayError, LookupError):
    """A query named something the trace does not have."""


class UnknownStepError(QueryError):
    """No step of the trace has the requested name."""


class UnknownItemError(QueryError):
    """No step of the trace evaluated the requested candidate."""


class UnknownRunError(XRayError, LookupError):
    """No run (or more than one) matches the requested run reference."""
