@echo off
rem complaintdesk — Windows 安装：双击运行（调用同一文件夹中的 install-windows.ps1）
chcp 65001 >nul
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0install-windows.ps1"
echo.
pause
