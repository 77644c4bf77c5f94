"""Entry point — the ribbon XML and the VBA callback module, generated from the action registry.

`ribbon_xml()` is the customUI part (2006 namespace); `vba_module()` is the one
callback every button calls: it asks for input where the action needs it and
calls xlwings' RunPython. The VBA source is ASCII with Chinese as ChrW code
points, so no Windows code page can garble it when the module is imported.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .actions import ACTIONS, GROUPS

CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
MODULE_NAME = "ComplaintDesk"


def ribbon_xml() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
             f'<customUI xmlns="{CUSTOMUI_NS}">', "  <ribbon>", "    <tabs>",
             '      <tab id="cdTab" label="投诉管理">']
    for g, group in enumerate(GROUPS, 1):
        lines.append(f'        <group id="cdGroup{g}" label={quoteattr(group)}>')
        for a in (a for a in ACTIONS if a.group == group):
            lines.append(f'          <button id="cd_{a.tag}" tag="{a.tag}" label={quoteattr(a.zh)} '
                         f'imageMso="{a.icon}" size="large" screentip={quoteattr(a.zh)} '
                         f'supertip={quoteattr(a.tip)} onAction="CD_OnAction"/>')
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines)


def vba_text(text: str) -> str:
    """A VBA expression for any Unicode text, using only ASCII source characters."""
    parts, plain = [], ""
    for ch in text:
        if 32 <= ord(ch) < 127 and ch != '"':
            plain += ch
            continue
        if plain:
            parts.append(f'"{plain}"')
            plain = ""
        parts.append(f"ChrW({ord(ch)})")
    if plain:
        parts.append(f'"{plain}"')
    return " & ".join(parts) or '""'


def vba_module(addin: bool = False) -> str:
    """The ComplaintDesk module: one ribbon callback for every button."""
    active = ", True" if addin else ""
    cases = []
    for a in ACTIONS:
        if a.prompt == "text":
            cases += [f'        Case "{a.tag}"',
                      f"            arg = InputBox({vba_text(a.ask)}, {vba_text('投诉管理')})",
                      "            If Len(arg) = 0 Then Exit Sub"]
        elif a.prompt == "file":
            cases += [f'        Case "{a.tag}"',
                      '            picked = Application.GetOpenFilename("CSV / Excel (*.csv;*.xlsx),*.csv;*.xlsx", , '
                      f"{vba_text(a.ask)})",
                      "            If VarType(picked) = vbBoolean Then Exit Sub",
                      "            arg = CStr(picked)"]
    body = [
        f'Attribute VB_Name = "{MODULE_NAME}"',
        "' complaintdesk ribbon callbacks" + (" (add-in: acts on the active workbook)" if addin else "") + ".",
        "' Generated from complaintdesk.entrypoints.actions; regenerate with: complaintdesk excel generate",
        "' Needs the xlwings VBA module (embedded by complaintdesk excel build) or the xlwings add-in.",
        "Option Explicit",
        "",
        "Public Sub CD_OnAction(control As IRibbonControl)",
        "    Dim arg As String",
        "    Dim picked As Variant",
        "    Select Case control.Tag",
        *cases,
        "    End Select",
        '    RunPython "import complaintdesk.entrypoints.excel as x; x.dispatch(\'" & control.Tag & "\', \'" & '
        f'CD_Hex(arg) & "\'{active})"',
        "End Sub",
        "",
        "' Text reaches Python hex-encoded (UTF-16 code units), so quotes and Chinese pass unharmed.",
        "Private Function CD_Hex(ByVal s As String) As String",
        "    Dim i As Long",
        "    Dim out As String",
        "    For i = 1 To Len(s)",
        '        out = out & Right$("000" & Hex$(AscW(Mid$(s, i, 1)) And &HFFFF&), 4)',
        "    Next i",
        "    CD_Hex = out",
        "End Function",
        "",
    ]
    return "\r\n".join(body)


def ribbon_source():
    """The ribbon and its VBA module, as the front-end services take them."""
    from ..services.frontend import RibbonSource
    return RibbonSource(ribbon_xml(), MODULE_NAME, lambda addin: vba_module(addin=addin))
