# complaintdesk — Windows 安装程序（由 install-windows.bat 启动；在发布文件夹中运行）
# 检查 Python ≥ 3.11 → 在 %LOCALAPPDATA%\complaintdesk 建立虚拟环境 → 安装本文件夹中的程序包（有 wheels
# 文件夹时无需联网）→ 选择登记表（或新建）→ 生成带“投诉管理”选项卡的 .xlsm → 说明下一步。
$ErrorActionPreference = "Stop"
try { [Console]::OutputEncoding = [System.Text.Encoding]::UTF8 } catch { }
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$home_dir = Join-Path $env:LOCALAPPDATA "complaintdesk"
$venv = Join-Path $home_dir "venv"

function Say([string]$text) { Write-Host $text }
function Fail([string]$text) {
    Write-Host ""
    Write-Host "✘ $text" -ForegroundColor Red
    exit 1
}

function Find-Python {
    # The launcher py first (python.org installs it), then python on PATH; the first one ≥ 3.11.
    foreach ($try in @(@("py", "-3"), @("python"))) {
        $exe = $try[0]
        $extra = @($try | Select-Object -Skip 1)
        if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
        try {
            $out = & $exe @extra -c "import sys; print(sys.version_info[0] * 100 + sys.version_info[1]); print(sys.executable)" 2>$null
        } catch { continue }
        if ($LASTEXITCODE -ne 0 -or -not $out) { continue }
        $lines = @($out)
        if ([int]$lines[0] -ge 311) { return $lines[1] }
    }
    return $null
}

Say "complaintdesk 安装"
Say "=================="
Say "1/5 检查 Python 版本 …"
$python = Find-Python
if (-not $python) {
    Fail "没有找到 Python 3.11 或更新版本。请从 https://www.python.org 下载安装（勾选 “Add python.exe to PATH”），然后重新运行本程序。"
}
Say "    使用 $python"

Say "2/5 建立独立环境：$venv …"
New-Item -ItemType Directory -Force -Path $home_dir | Out-Null
if (-not (Test-Path (Join-Path $venv "Scripts\python.exe"))) {
    & $python -m venv $venv
    if ($LASTEXITCODE -ne 0) { Fail "无法建立虚拟环境（$venv）。" }
}
$vpython = Join-Path $venv "Scripts\python.exe"
$tool = Join-Path $venv "Scripts\complaintdesk.exe"

Say "3/5 安装程序包 …"
$wheel = Get-ChildItem -Path $here -Filter "complaintdesk-*.whl" | Sort-Object Name | Select-Object -Last 1
if (-not $wheel) { Fail "本文件夹中没有 complaintdesk-*.whl：请在发布文件夹（make_release.py 生成）中运行。" }
$wheels = Join-Path $here "wheels"
if (Test-Path $wheels) {
    & $vpython -m pip install --disable-pip-version-check --no-index --find-links $wheels --upgrade $wheel.FullName
} else {
    & $vpython -m pip install --disable-pip-version-check --upgrade $wheel.FullName
}
if ($LASTEXITCODE -ne 0) { Fail "安装失败（见上面的信息）。没有 wheels 文件夹时需要联网。" }
& $tool --version
if ($LASTEXITCODE -ne 0) { Fail "安装后无法运行 complaintdesk。" }

# The ribbon's RunPython uses the python on PATH: the environment's Scripts folder goes first (this user only).
$scripts = Join-Path $venv "Scripts"
$user_path = [Environment]::GetEnvironmentVariable("Path", "User")
if (-not $user_path) { $user_path = "" }
if (-not ($user_path.Split(";") -contains $scripts)) {
    [Environment]::SetEnvironmentVariable("Path", "$scripts;$user_path", "User")
    Say "    已把 $scripts 加入当前用户的 PATH（新开的窗口生效）"
}

Say "4/5 请选择您的登记表（.xlsx）；取消则在“文档”中新建一份 …"
Add-Type -AssemblyName System.Windows.Forms
$dialog = New-Object System.Windows.Forms.OpenFileDialog
$dialog.Title = "选择客户投诉登记表"
$dialog.Filter = "Excel 工作簿 (*.xlsx)|*.xlsx"
$dialog.InitialDirectory = [Environment]::GetFolderPath("MyDocuments")
if ($dialog.ShowDialog() -eq [System.Windows.Forms.DialogResult]::OK) {
    $register = $dialog.FileName
} else {
    $register = Join-Path ([Environment]::GetFolderPath("MyDocuments")) "客户投诉登记表.xlsx"
    if (-not (Test-Path $register)) {
        & $tool init $register
        if ($LASTEXITCODE -ne 0) { Fail "无法新建登记表 $register。" }
    }
}
Say "    登记表：$register"

Say "5/5 生成带“投诉管理”选项卡的 .xlsm …"
$xlsm = [System.IO.Path]::ChangeExtension($register, ".xlsm")
& $tool excel build $register --out $xlsm
if ($LASTEXITCODE -ne 0) { Fail "生成 .xlsm 失败（见上面的信息）。" }
& $tool excel check $xlsm

Say ""
Say "✔ 安装完成。下一步："
Say "  1. 打开 $xlsm"
Say "  2. 如 Excel 显示“已阻止宏运行”：关闭文件，右键它 → 属性 → 勾选“解除锁定” → 确定，再打开。"
Say "  3. 点黄色提示条上的“启用内容”，功能区出现“投诉管理”选项卡；录入投诉后点“登记编号”。"
Say "  命令行：新开一个命令提示符窗口，输入 complaintdesk --help"
