"""Type rows into a workbook through LibreOffice's own API (UNO) and save it as .xlsx, as staff who
keep the register in LibreOffice Calc do. Run by the system python that carries `uno` (Debian's
python3-uno), not by the project's venv:

    python3 tests/lo_typing.py SOFFICE PROFILE_DIR REGISTER.xlsx ROWS.json

ROWS.json is a list of {header: value}; each row goes below the last used row of the first sheet
(text, numbers; "yyyy-mm-dd hh:mm" is typed as a date as Calc's input line would take it).
"""
import json
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(soffice, profile):
    pipe = f"cdtyping{os.getpid()}"
    proc = subprocess.Popen([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--invisible",
                             "--norestore", "--nologo", f"--accept=pipe,name={pipe};urp;"])
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(240):
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return proc, ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:
            time.sleep(0.5)
    proc.kill()
    sys.exit("LibreOffice did not answer on its UNO pipe")


def main(soffice, profile, path, rows_file):
    rows = json.load(open(rows_file, encoding="utf-8"))
    proc, desktop = connect(soffice, profile)
    try:
        url = uno.systemPathToFileUrl(os.path.abspath(path))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
        sheet = doc.Sheets.getByIndex(0)
        cursor = sheet.createCursor()
        cursor.gotoEndOfUsedArea(False)
        end = cursor.RangeAddress
        header = {sheet.getCellByPosition(c, 0).String: c for c in range(end.EndColumn + 1)}
        last = end.EndRow
        width = range(end.EndColumn + 1)
        while last > 0 and all(sheet.getCellByPosition(c, last).Type.value == "EMPTY" for c in width):
            last -= 1
        for i, row in enumerate(rows, 1):
            for label, value in row.items():
                cell = sheet.getCellByPosition(header[label], last + i)
                if isinstance(value, (int, float)):
                    cell.Value = value
                else:
                    cell.Formula = str(value)  # as typed: numbers and dates are recognised
        doc.storeToURL(url, (prop("FilterName", "Calc MS Excel 2007 XML"), prop("Overwrite", True)))
        doc.close(True)
    finally:
        try:
            desktop.terminate()
        except Exception:
            pass
        proc.wait(timeout=60)


if __name__ == "__main__":
    main(*sys.argv[1:5])
