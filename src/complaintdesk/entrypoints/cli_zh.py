"""Entry point — the command line's own words in Chinese. The argument parser (click, inside typer)
writes usage lines, help headings and its errors in English; these command and group classes say
them in Chinese: `用法：`, `选项：`, `缺少选项 '--content'`, `查看帮助：complaintdesk log --help`.
Output that goes to a file or a scheduler log is never wrapped mid-phrase (see console_for).
"""
from __future__ import annotations

import importlib
import re
import sys
from typing import Any

import typer
from rich.console import Console
from typer import core as typer_core

click: Any = getattr(typer_core, "_click", None) or importlib.import_module("click")

# (English as the parser writes it, Chinese) — applied in order to help texts and usage lines
HELP_WORDS = (
    ("Usage: ", "用法："), ("Options:", "选项："), ("Arguments:", "参数："), ("Commands:", "命令："),
    ("Show this message and exit.", "显示本帮助并退出。"), ("[OPTIONS]", "[选项]"),
    ("COMMAND [ARGS]...", "命令 [参数]..."), ("[required]", "[必填]"), ("[default: ", "[默认："),
    ("<path>", "<路径>"), ("<str>", "<文字>"), ("<int>", "<整数>"), ("<float>", "<数字>"),
)
# (pattern of an English parser message, Chinese) — the rest of a message is kept
ERROR_WORDS = (
    (r"^Missing option '?([^'.]+)'?\.?", r"缺少选项 \1"),
    (r"^Missing argument '?([^'.]+)'?\.?", r"缺少参数 \1"),
    (r"^Missing parameter: (.+)", r"缺少参数 \1"),
    (r"^No such option: (\S+)", r"没有这个选项：\1"),
    (r"^No such command '?([^'.]+)'?\.?", r"没有这个命令：\1"),
    (r"^Got unexpected extra argument(?:s|\(s\))? \((.*)\)", r"多余的参数：\1"),
    (r"^Option '?([^' ]+)'? requires an argument\.?", r"选项 \1 需要一个值"),
    (r"^Invalid value for (.+?): (.*)", r"\1 的值无效：\2"),
    (r"^Invalid value: (.*)", r"值无效：\1"),
    (r"\(Possible options: (.*)\)", r"（您是不是想写：\1）"),
    (r"'(.*)' is not a valid integer(?: range)?\.?", r"“\1”不是整数"),
    (r"Input should be a valid integer.*", "不是整数"),
    (r"Input should be a valid number.*", "应为数字"),
    (r"Input should be a valid boolean.*", "应为 是/否（true/false）"),
    (r"'(.*)' is not one of (.*)\.", r"“\1”不是 \2 之一"),
)


def chinese_help(text: str) -> str:
    for english, chinese in HELP_WORDS:
        text = text.replace(english, chinese)
    return text


def chinese_error(message: str) -> str:
    for pattern, chinese in ERROR_WORDS:
        message = re.sub(pattern, chinese, message)
    return message


class ZhFormatter(click.HelpFormatter):
    def getvalue(self) -> str:
        return chinese_help(super().getvalue())


class ZhContext(click.Context):
    formatter_class = ZhFormatter


class ZhCommand(typer_core.TyperCommand):
    context_class = ZhContext


class ZhGroup(typer_core.TyperGroup):
    """The top group: runs the command, and says a usage error (raised by it or any sub-command)
    in Chinese, exit 2, as the parser would in English."""
    context_class = ZhContext

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode: bool = True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            show_usage_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("已取消", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class ZhTyper(typer.Typer):
    """A typer app whose group and commands speak Chinese (ZhGroup, ZhCommand): every command added
    with `@app.command()` gets them, none can be forgotten."""

    def __init__(self, **settings):
        super().__init__(cls=ZhGroup, rich_markup_mode=None, **settings)

    def command(self, name=None, *, cls=ZhCommand, **settings):
        return super().command(name, cls=cls, **settings)


def show_usage_error(exc) -> None:
    """Usage line, the error, and where help is — on stderr, in Chinese."""
    err = console_for(sys.stderr)
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # the command's help, asked for by giving nothing
        err.print(chinese_help(exc.format_message()), highlight=False, markup=False)
        return
    if ctx is not None:
        err.print(chinese_help(ctx.get_usage()), highlight=False, markup=False)
        err.print(f"查看帮助：{ctx.command_path} --help", highlight=False, markup=False)
    err.print(f"错误：{chinese_error(exc.format_message())}", highlight=False, markup=False)


def console_for(stream) -> Console:
    """A console on `stream`: at a terminal, as wide as it is; otherwise (a file, a pipe, a
    scheduler's log) lines are never wrapped — a message is one line however long."""
    if stream.isatty():
        return Console(file=stream)
    return Console(file=stream, soft_wrap=True, width=10_000)
