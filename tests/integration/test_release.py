"""The Windows release folder: the wheel carries the templates and the command, the installer is
there as Windows reads it (UTF-8 with BOM, CRLF), and the .bat starts it."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_release_folder_holds_what_the_installer_needs(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_release.py"), "--out", str(tmp_path),
                    "--no-dependencies"], check=True, capture_output=True, timeout=300)
    folder = next(tmp_path.glob("complaintdesk-*-windows"))
    wheel = next(folder.glob("complaintdesk-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for kind in ("assignment", "plan", "confirmation", "survey"):
        assert {f"complaintdesk/templates/{lang}/{kind}.toml" for lang in ("zh", "en")} <= names
    assert "complaintdesk = complaintdesk.entrypoints.cli:main" in entry_points
    installer = (folder / "install-windows.ps1").read_bytes()
    assert installer.startswith(b"\xef\xbb\xbf")  # Windows PowerShell 5.1 reads Chinese right only so
    assert b"\r\n" in installer and b"\n" not in installer.replace(b"\r\n", b"")
    text = installer.decode("utf-8-sig")
    for step in ("Find-Python", "-m venv", "--no-index --find-links", "excel build", "LOCALAPPDATA"):
        assert step in text
    assert "install-windows.ps1" in (folder / "install-windows.bat").read_text(encoding="utf-8")
    assert "Add python.exe to PATH" in (folder / "安装说明.txt").read_text(encoding="utf-8-sig")
