"""complaintdesk — customer-complaint handling on Excel workbooks."""

__version__ = "0.1.0"
