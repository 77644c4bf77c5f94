"""Adapters: workbook stores, calendar source, documents, report writer, mailer."""
