"""Adapter — the streaming register store: the register read and written through the xlsx engine
(`adapters/xlsxstream/`), for registers too large for openpyxl to be quick.

  fast_store      FastStore: the package, reading rows (light for closed complaints, in full for
                  the others), exports and searches; the class the services are given
  rows            reading rows from the row index or a scan, and keeping them
  changes         the changes a command records (cells, new rows, tool sheets), applied by a save
  saving          the save: one pass over the package, changed segments re-encoded, then the index
  sheet_scan      a register sheet's pieces scanned for the rows and cells a command needs
  register_index  the row index kept in .cache/ after a full read
  archive_files   the yearly archive files and the audit archives, read and written streamed
"""
from .fast_store import FastStore

__all__ = ["FastStore"]
