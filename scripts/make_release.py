"""Builds the Windows release folder: the complaintdesk wheel, every dependency as a Windows wheel for
Python 3.11–3.13 (so the install needs no internet), the installer and a read-me.

    python scripts/make_release.py            # -> dist/complaintdesk-<version>-windows/

Copy the folder (or its zip) to the PC and double-click 安装.bat (install-windows.bat).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11", "3.12", "3.13")
WINDOWS_ONLY = ("pywin32",)  # xlwings needs it on Windows; pip download evaluates markers for this machine

README = """complaintdesk {version} — Windows 安装

1. 先安装 Python 3.11 或更新版本（python.org，安装时勾选 “Add python.exe to PATH”）。
2. 双击本文件夹中的 install-windows.bat。
   安装程序会：检查 Python 版本 → 在 %LOCALAPPDATA%\\complaintdesk 建立独立环境 → 从本文件夹安装（无需联网）
   → 请您选择登记表（或新建一份）→ 生成带“投诉管理”选项卡的 .xlsm → 告诉您下一步做什么。
3. 打开生成的 .xlsm；如 Excel 提示宏已被阻止：右键文件 → 属性 → 勾选“解除锁定”→ 确定，再打开并点“启用内容”。

命令行：安装后在新的命令提示符窗口中输入 complaintdesk --help。
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--no-dependencies", action="store_true", help="只打包程序本身（安装时需联网）")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from complaintdesk import __version__
    folder = args.out / f"complaintdesk-{__version__}-windows"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "wheels").mkdir(parents=True)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "-w", str(folder)], check=True)
    wheel = next(folder.glob("complaintdesk-*.whl"))
    if not args.no_dependencies:
        for version in PYTHONS:
            subprocess.run([*pip, "download", str(wheel), *WINDOWS_ONLY, "-d", str(folder / "wheels"),
                            "--only-binary=:all:", "--platform", "win_amd64", "--python-version", version,
                            "--implementation", "cp"], check=True)
        (folder / "wheels" / wheel.name).unlink(missing_ok=True)
    for name in ("install-windows.ps1", "install-windows.bat"):
        shutil.copy(ROOT / "scripts" / name, folder / name)
    (folder / "安装说明.txt").write_text(README.format(version=__version__), encoding="utf-8-sig")
    print(f"release folder: {folder}")


if __name__ == "__main__":
    main()
