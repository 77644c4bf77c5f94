Attribute VB_Name = "ComplaintDesk"
' complaintdesk ribbon callbacks.
' Generated from complaintdesk.entrypoints.actions; regenerate with: complaintdesk excel generate
' Needs the xlwings VBA module (embedded by complaintdesk excel build) or the xlwings add-in.
Option Explicit

Public Sub CD_OnAction(control As IRibbonControl)
    Dim arg As String
    Dim picked As Variant
    Select Case control.Tag
        Case "log"
            arg = InputBox(ChrW(35831) & ChrW(36755) & ChrW(20837) & ChrW(26412) & ChrW(27425) & ChrW(19982) & ChrW(23458) & ChrW(25143) & ChrW(27807) & ChrW(36890) & ChrW(30340) & ChrW(20869) & ChrW(23481) & ChrW(65306), ChrW(25237) & ChrW(35785) & ChrW(31649) & ChrW(29702))
            If Len(arg) = 0 Then Exit Sub
        Case "merge"
            arg = InputBox(ChrW(35831) & ChrW(36755) & ChrW(20837) & ChrW(20027) & ChrW(25237) & ChrW(35785) & ChrW(32534) & ChrW(21495) & ChrW(65288) & ChrW(36873) & ChrW(20013) & ChrW(30340) & ChrW(36825) & ChrW(19968) & ChrW(26465) & ChrW(23558) & ChrW(21512) & ChrW(24182) & ChrW(21040) & ChrW(23427) & ChrW(65289) & ChrW(65306), ChrW(25237) & ChrW(35785) & ChrW(31649) & ChrW(29702))
            If Len(arg) = 0 Then Exit Sub
        Case "surveys"
            picked = Application.GetOpenFilename("CSV / Excel (*.csv;*.xlsx),*.csv;*.xlsx", , ChrW(35831) & ChrW(36873) & ChrW(25321) & ChrW(22238) & ChrW(35775) & ChrW(32467) & ChrW(26524) & ChrW(25991) & ChrW(20214))
            If VarType(picked) = vbBoolean Then Exit Sub
            arg = CStr(picked)
        Case "find"
            arg = InputBox(ChrW(35831) & ChrW(36755) & ChrW(20837) & ChrW(35201) & ChrW(26597) & ChrW(25214) & ChrW(30340) & ChrW(25237) & ChrW(35785) & ChrW(32534) & ChrW(21495) & ChrW(12289) & ChrW(30005) & ChrW(35805) & ChrW(12289) & ChrW(23458) & ChrW(25143) & "ID" & ChrW(12289) & ChrW(35746) & ChrW(21333) & ChrW(21495) & ChrW(25110) & ChrW(25991) & ChrW(23383) & ChrW(65306), ChrW(25237) & ChrW(35785) & ChrW(31649) & ChrW(29702))
            If Len(arg) = 0 Then Exit Sub
    End Select
    RunPython "import complaintdesk.entrypoints.excel as x; x.dispatch('" & control.Tag & "', '" & CD_Hex(arg) & "')"
End Sub

' Text reaches Python hex-encoded (UTF-16 code units), so quotes and Chinese pass unharmed.
Private Function CD_Hex(ByVal s As String) As String
    Dim i As Long
    Dim out As String
    For i = 1 To Len(s)
        out = out & Right$("000" & Hex$(AscW(Mid$(s, i, 1)) And &HFFFF&), 4)
    Next i
    CD_Hex = out
End Function
