"""Errors raised by the planning-data layer.

Every error a user can cause names the file, the field (column) and the offending value, so that
the message alone says what to fix. The planner's own errors (``planner.errors``) subclass these.
"""

from __future__ import annotations

from collections.abc import Sequence


class PlannerError(Exception):
    """Base class of every error this project raises on purpose."""


class DataValidationError(PlannerError, ValueError):
    """An input table or file is malformed: a missing column, a bad value, a point outside BNSSG.

    ``problems`` lists every problem found (one line each) when a file has several bad rows.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class DataBuildError(PlannerError, RuntimeError):
    """Building the planning dataset failed; the previously built dataset is left untouched."""


class NetworkError(PlannerError, RuntimeError):
    """A road network could not be loaded, downloaded or routed."""


def where(file: object, *, row: object | None = None, field: str | None = None, value: object = None) -> str:
    """Format the location of a bad value for an error message.

    Parameters
    ----------
    file
        The file (or table name) the value came from.
    row
        The row number or id, if the problem is in one row.
    field
        The column or key.
    value
        The offending value.

    Returns
    -------
    str
        For example ``"sites.csv, row 3, field 'lon': value 'abc'"``.
    """
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if field is not None:
        parts.append(f"field {field!r}")
    text = ", ".join(parts)
    if value is not None:
        text += f": value {value!r}"
    return text
