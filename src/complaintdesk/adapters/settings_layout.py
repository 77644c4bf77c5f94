"""Adapter — where each rule table sits in the 设置 sheet.

Blocks stand side by side; each has a title in row 1, headers in row 2 and
data from row 3 down, so an admin can lengthen any list in Excel. Blocks are
found by their title text, so they may be moved. The same layout is used to
build the sheet (`init`), to read it, and to point the dropdowns at it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..domain import settings as d
from ..domain.handling import DEFAULT_AUTHORITY


@dataclass(frozen=True)
class Block:
    key: str
    zh: str
    en: str
    headers: tuple[tuple[str, str], ...]
    rows: tuple[tuple, ...]


BLOCKS = (
    Block("departments", "部门", "Departments", (("部门代码", "Code"), ("部门名称", "Name")),
          d.DEFAULT_DEPARTMENTS),
    Block("routes", "分类路由", "Routing", (("投诉类别", "Category"), ("处理部门代码", "Dept Code")),
          d.DEFAULT_ROUTES),
    Block("sla", "时效标准", "SLA", (("时效项", "Clock"), ("优先级", "Priority"),
                                     ("时限", "Amount"), ("单位", "Unit")), d.DEFAULT_SLA),
    Block("member_levels", "会员等级", "Member Levels", (("会员等级", "Level"), ("最低优先级", "Min Priority")),
          d.DEFAULT_MEMBER_LEVELS),
    Block("emotions", "情绪状态", "Emotions", (("情绪", "Emotion"), ("升级为P1", "Raises to P1")),
          d.DEFAULT_EMOTIONS),
    Block("lists", "下拉选项", "Lists", tuple((d.LIST_TITLES[k], k) for k in d.DEFAULT_LISTS),
          ()),
    Block("params", "参数", "Parameters", (("参数", "Parameter"), ("值", "Value"), ("说明", "Note")),
          tuple((p[1], p[2], p[3]) for p in d.DEFAULT_PARAMS)),
    # added later: a register made before it reads the old single threshold instead
    Block("authority", "审批权限", "Approval Authority",
          (("角色", "Role"), ("审批上限(元)", "Max Cost"), ("可审批跨部门", "Cross-Department")),
          DEFAULT_AUTHORITY),
    # optional (seed 004: per-channel response limits over the priority's); empty by default
    Block("channel_sla", "渠道响应时限", "Channel Response Limits",
          (("接收渠道", "Channel"), ("优先级(空=全部)", "Priority (blank: all)"), ("时限", "Amount"),
           ("单位", "Unit")), ()),
)
OPTIONAL_BLOCKS = frozenset({"lists", "authority", "channel_sla"})
BY_KEY = {b.key: b for b in BLOCKS}
LIST_ROWS = 60  # rows the dropdown ranges cover below the header


def block_columns() -> dict[str, int]:
    """Default start column (1-based) of each block: side by side, one empty column between."""
    out, col = {}, 1
    for block in BLOCKS:
        out[block.key] = col
        col += len(block.headers) + 1
    return out


def list_source(list_name: str) -> tuple[str, int]:
    """(block key, offset of the column inside the block) that feeds a dropdown list."""
    first_column = {"category": "routes", "dept_code": "departments",
                    "member_level": "member_levels", "emotion": "emotions"}
    if list_name in first_column:
        return first_column[list_name], 0
    keys = list(d.DEFAULT_LISTS)
    return "lists", keys.index(list_name)
