"""Errors: one exception tree for file-level problems.

A bad *row* is never an exception; it gets a message in its validation cell.
These exceptions stop a whole run and map to CLI exit codes.
"""


class ComplaintDeskError(Exception):
    """Base of every file-level error; the message is shown to the user."""

    exit_code = 2


class SchemaError(ComplaintDeskError):
    """The workbook lacks a sheet or column, or has duplicated headers."""


class RuleConflictError(ComplaintDeskError):
    """A rule table in 设置 is incomplete or contradicts itself."""


class WorkbookLockedError(ComplaintDeskError):
    """Excel (or another writer) holds the file."""

    exit_code = 3


class CalendarNotCoveredError(ComplaintDeskError):
    """A date lies in a year without an official holiday schedule."""


class SourceError(ComplaintDeskError):
    """An import/survey source file cannot be read."""


class MailError(ComplaintDeskError):
    """Sending notification mail failed."""

    exit_code = 4


class SheetFullError(ComplaintDeskError):
    """A sheet would hold more rows than Excel opens (`role`: which tool sheet, or the register)."""

    def __init__(self, message: str, role: str):
        super().__init__(message)
        self.role = role


class GroupStoreError(ComplaintDeskError):
    """The group database cannot be reached, refuses us, is of another schema version, or a
    publication conflicts with what it holds. Nothing was written."""
