"""Entry points: the CLI (typer), the Excel ribbon dispatch (xlwings) and the scheduler."""
