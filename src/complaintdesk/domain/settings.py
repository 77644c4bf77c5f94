"""Domain — the business rules of 设置 as typed data, with their defaults and checks.

The adapter hands over raw tables (one per 设置 block, each row with the
address of its first cell); `build_settings` turns them into `Settings` and
raises RuleConflictError naming the cell when a rule table is unusable.
The defaults come from the seed process documents.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from ..errors import RuleConflictError
from .group_events import GroupRule
from .handling import DEFAULT_AUTHORITY, Authority, authority_table
from .parsing import parse_bool, text_of
from .schema import header_lookup, normalise_header

CLOCKS = ("response", "plan", "update", "resolve", "survey")
CLOCK_LABELS = {"response": ("响应", "Response"), "plan": ("方案", "Plan"),
                "update": ("进度反馈", "Progress update"), "resolve": ("处理完毕", "Resolution"),
                "survey": ("满意度回访", "Survey")}
UNITS = {"calendar_hours": ("日历小时", "calendar hours"),
         "working_hours": ("工作小时", "working hours"),
         "working_days": ("工作日", "working days")}
PRIORITIES = ("P0", "P1", "P2")
ROLES = {"agent": ("客服专员", "Agent"), "supervisor": ("客服主管", "Supervisor"),
         "dept_head": ("部门负责人", "Department head"), "manager": ("客服经理", "Manager")}

# ---- seed defaults (what `init` writes into 设置) --------------------------------
DEFAULT_DEPARTMENTS = (("CS", "客服部"), ("AS", "售后部"), ("WL", "仓储物流部"),
                       ("IT", "技术部"), ("QA", "质量部"), ("OP", "运营部"))
DEFAULT_ROUTES = (("产品质量", "AS"), ("服务态度", "CS"), ("物流履约", "WL"),
                  ("系统故障", "IT"), ("售后", "AS"), ("其他", "CS"))
DEFAULT_SLA = (
    ("响应", "P0", 2, "日历小时"), ("响应", "P1", 4, "日历小时"), ("响应", "P2", 8, "日历小时"),
    ("方案", "P0", 2, "日历小时"), ("方案", "P1", 1, "工作日"), ("方案", "P2", 1, "工作日"),
    ("进度反馈", "P0", 8, "日历小时"), ("进度反馈", "P1", 24, "日历小时"), ("进度反馈", "P2", 24, "日历小时"),
    ("处理完毕", "P0", 24, "日历小时"), ("处理完毕", "P1", 48, "日历小时"), ("处理完毕", "P2", 7, "工作日"),
    ("满意度回访", "P0", 3, "工作日"), ("满意度回访", "P1", 3, "工作日"), ("满意度回访", "P2", 3, "工作日"),
)
DEFAULT_MEMBER_LEVELS = (("普通会员", "P2"), ("银卡会员", "P2"), ("金卡会员", "P1"),
                         ("钻石会员", "P1"), ("企业客户", "P1"))
DEFAULT_EMOTIONS = (("平静", "否"), ("不满", "否"), ("焦虑", "否"), ("愤怒", "是"), ("情绪激动", "是"))
DEFAULT_LISTS = {
    "channel": ("电话", "在线客服", "邮件", "社交媒体", "门店", "其他"),
    "request_type": ("投诉", "咨询", "建议"),
    "resolution_type": ("道歉", "解释说明", "补发", "换货", "退货退款", "部分退款", "优惠券",
                        "服务升级", "维修", "流程优化", "其他"),
    "responsibility": ("客户", "商家", "物流", "平台", "第三方", "公司内部"),
    "validity": ("有效", "无效"),
    "yes_no": ("是", "否"),
    "priority": PRIORITIES,
    # words in 问题描述 / 客户诉求 that make a complaint whose 涉及安全/重大损失 is empty urgent (seed 000)
    "safety_words": ("漏电", "触电", "冒烟", "起火", "着火", "自燃", "爆炸", "烫伤", "烧伤", "受伤", "划伤",
                     "中毒", "过敏", "异物"),
}
LIST_TITLES = {"channel": "接收渠道", "request_type": "诉求类型", "resolution_type": "解决方式",
               "responsibility": "责任方", "validity": "是否有效", "yes_no": "是/否", "priority": "优先级",
               "safety_words": "安全词"}
# (key, zh label, default, description)
DEFAULT_PARAMS = (
    ("default_dept_code", "默认部门代码", "CS", "登记时未填部门代码时使用"),
    ("default_supervisor", "默认受理人", "王主管", "值班表没有覆盖的时间由此人受理"),
    ("repeat_days", "重复投诉窗口(天)", 90, "同一客户同一类别在此天数内再次投诉视为重复投诉"),
    ("at_risk_share", "即将超时阈值", 0.25, "剩余时间少于时限的该比例时标记为即将超时"),
    ("work_start", "工作时间开始", "09:00", "工作小时计时的每日开始时间"),
    ("work_end", "工作时间结束", "18:00", "工作小时计时的每日结束时间"),
    ("emotion_raises", "情绪激动升为P1", "是", "情绪状态表中标记“升级”的情绪可把 P2 提升为 P1"),
    ("cost_threshold", "经理审批成本阈值(元)", 1000, "没有“审批权限”表的旧登记表：方案成本超过此金额需客服经理审批"),
    ("csat_target", "满意度目标", 0.9, "月度报告中满意度(CSAT)的目标值"),
    ("hotspot_threshold", "高频问题阈值", 3, "同一产品×类别当月达到此数量列为高频问题"),
    ("response_hours_target", "平均响应时长目标(小时)", 24, "集团报告的红绿灯：平均首次响应时长不超过此小时数为达标"),
    ("group_event_count", "群诉阈值(起)", 5, "同一产品（或下列归并字段相同）、同一类别的有效投诉"
     "在时间窗内达到此数量即为群诉事件；"
     "0 为不识别"),
    ("group_event_hours", "群诉时间窗(小时)", 24, "群诉事件中投诉的接收时间相隔不超过此小时数"),
    ("group_event_fields", "群诉归并字段", "涉及产品/服务", "登记表的列名，多个用顿号分隔"
     "（如 涉及产品/服务、订单号、地点）；"
     "任一列相同即归并，空白不归并"),
    ("group_event_same_category", "群诉要求同一类别", "是", "是：还要求投诉类别相同"),
    ("legacy_number_pattern", "旧编号格式", "", "旧系统编号格式（正则，如 TS\\d{6}）；空则只认 日期-部门代码-流水号"),
    ("survey_reply_days", "调查表回复天数", 7, "满意度调查表上“请在…前提交”的日期：从调查表发出之日起算的天数"),
    ("archive_days", "归档天数", 30, "关闭超过此天数的投诉可归档"),
    ("retention_years", "保留年限", 3, "归档文件至少保留的年数"),
    ("backup_count", "备份份数", 5, "保存时在 .bak 文件夹保留的历史版本数"),
    ("check_minutes", "时效检查间隔(分钟)", 30, "调度器检查时效的间隔：昼夜、节假日照常检查；"
     "工作时间以外只发送按日历小时计时的预警（给当时的值班主管）"),
    ("digest_time", "每日汇总时间", "08:30", "调度器每日发送预警汇总的时间"),
    ("report_recipients", "月报收件人", "", "多个邮箱用逗号或分号分隔"),
    ("auto_ack", "自动发送受理回复", "否", "是：调度器给三天内的新投诉发送受理致歉（联系方式是邮箱时发邮件，"
     "其余写入登记表旁的 短信待发送.csv 供短信平台导入），并记入沟通记录，每起只发一次"),
    ("branch_name", "分支机构名称", "", "上报集团时本登记表的名称（如 华东呼叫中心）；空则调度器不上报"),
    ("group_url", "集团数据库", "", "集团汇总数据库地址，如 sqlite:///D:/集团/集团汇总.db；"
     "含密码时改用环境变量 COMPLAINTDESK_GROUP_URL"),
    ("publish_time", "上报集团时间", "22:00", "调度器每日上报集团的时间；每月1日另在零点后尽早上报上月"),
    ("smtp_host", "SMTP服务器", "", "也可用环境变量 COMPLAINTDESK_SMTP_HOST"),
    ("smtp_port", "SMTP端口", 25, ""),
    ("smtp_user", "SMTP用户", "", ""),
    ("smtp_from", "发件人", "", ""),
    ("smtp_starttls", "使用STARTTLS", "否", ""),
)


@dataclass(frozen=True)
class SlaRule:
    amount: float
    unit: str  # key of UNITS


# one address: no spaces, line breaks, separators or quotes (they would smuggle headers or recipients)
EMAIL_RE = re.compile(r"^[^@\s,;:<>()\[\]\\\"']+@[^@\s,;:<>()\[\]\\\"']+\.[^@\s,;:<>()\[\]\\\"'.]{2,}$")


def split_addresses(text: str) -> tuple[list[str], list[str]]:
    """A list of addresses as typed in 设置 (commas or semicolons, half- or full-width) ->
    (valid addresses, what is not one)."""
    parts = [a.strip() for a in re.split(r"[;,；，]", text) if a.strip()]
    return [a for a in parts if EMAIL_RE.match(a)], [a for a in parts if not EMAIL_RE.match(a)]


@dataclass(frozen=True)
class Person:
    name: str
    dept_code: str
    role: str  # key of ROLES
    email: str = ""  # as typed in 人员

    @property
    def mail_to(self) -> str:
        """The address mail goes to ("" when none, or when what was typed is not one address)."""
        return self.email if EMAIL_RE.match(self.email) else ""


@dataclass(frozen=True)
class Shift:
    when: str  # "" every day, "周一".."周日", "工作日", "休息日", or YYYY-MM-DD
    start: time
    end: time
    supervisor: str


@dataclass
class Settings:
    departments: dict[str, str]
    routes: dict[str, str]
    sla: dict[tuple[str, str], SlaRule]
    member_levels: dict[str, str]
    emotions: dict[str, bool]
    lists: dict[str, tuple[str, ...]]
    params: dict[str, object]
    staff: list[Person] = field(default_factory=list)
    roster: list[Shift] = field(default_factory=list)
    authority: dict[str, Authority] = field(default_factory=dict)  # role -> what it may approve
    # 渠道响应时限 (seed 004): (channel, priority or "" for every priority) -> the response limit
    channel_sla: dict[tuple[str, str], SlaRule] = field(default_factory=dict)

    def param(self, key: str):
        return self.params[key]

    def rule(self, clock: str, priority: str, channel: str = "") -> SlaRule:
        """The limit of a clock: the channel's own response limit where 设置 gives one, else the
        priority's."""
        if clock == "response" and channel and self.channel_sla:
            found = self.channel_sla.get((channel, priority)) or self.channel_sla.get((channel, ""))
            if found is not None:
                return found
        return self.sla[(clock, priority)]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.routes)

    def choices(self, list_name: str) -> tuple[str, ...]:
        special = {"category": self.categories, "dept_code": tuple(self.departments),
                   "member_level": tuple(self.member_levels), "emotion": tuple(self.emotions)}
        return special.get(list_name) or self.lists.get(list_name, ())

    def people(self, role: str, dept_code: str | None = None) -> list[Person]:
        return [p for p in self.staff
                if p.role == role and (dept_code is None or p.dept_code == dept_code)]

    def person(self, name: str) -> Person | None:
        return next((p for p in self.staff if p.name == name), None)

    def email_problems(self) -> list[str]:
        """One message per person in 人员 whose e-mail is not a single valid address."""
        return [f"人员表：{p.name} 的邮箱“{_visible(p.email[:60])}”无效（应为一个地址，如 wang@example.com），"
                "不会给此人发邮件" for p in self.staff if p.email and not p.mail_to]


def _visible(text: str) -> str:
    """Line breaks and tabs shown as \\r \\n \\t (a message must not break where the cell did)."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def default_settings() -> Settings:
    """Settings exactly as `init` writes them (useful for tests and the demo)."""
    raw = {
        "departments": [(f"A{i}", row) for i, row in enumerate(DEFAULT_DEPARTMENTS, 3)],
        "routes": [(f"D{i}", row) for i, row in enumerate(DEFAULT_ROUTES, 3)],
        "sla": [(f"G{i}", row) for i, row in enumerate(DEFAULT_SLA, 3)],
        "member_levels": [(f"L{i}", row) for i, row in enumerate(DEFAULT_MEMBER_LEVELS, 3)],
        "emotions": [(f"O{i}", row) for i, row in enumerate(DEFAULT_EMOTIONS, 3)],
        "params": [(f"Z{i}", (p[1], p[2])) for i, p in enumerate(DEFAULT_PARAMS, 3)],
        "lists": {k: list(v) for k, v in DEFAULT_LISTS.items()},
        "authority": [(f"AD{i}", row) for i, row in enumerate(DEFAULT_AUTHORITY, 3)],
    }
    return build_settings(raw, staff=list(DEMO_STAFF), roster=list(DEMO_ROSTER))


DEMO_STAFF = (
    Person("王主管", "CS", "supervisor", "wang.zg@example.com"),
    Person("刘主管", "CS", "supervisor", "liu.zg@example.com"),
    Person("陈经理", "CS", "manager", "chen.jl@example.com"),
    Person("李客服", "CS", "agent", "li.kf@example.com"),
    Person("赵敏", "CS", "dept_head", "zhao.min@example.com"),
    Person("孙强", "AS", "dept_head", "sun.qiang@example.com"),
    Person("周涛", "WL", "dept_head", "zhou.tao@example.com"),
    Person("吴迪", "IT", "dept_head", "wu.di@example.com"),
    Person("郑洁", "QA", "dept_head", "zheng.jie@example.com"),
    Person("冯雪", "OP", "dept_head", "feng.xue@example.com"),
)
DEMO_ROSTER = (
    Shift("", time(8, 0), time(20, 0), "王主管"),
    Shift("", time(20, 0), time(8, 0), "刘主管"),
)


# ---- building from raw tables ------------------------------------------------------
def _unit_key(text: str) -> str | None:
    for key, names in UNITS.items():
        if text in names or text == key:
            return key
    return None


def _clock_key(text: str) -> str | None:
    for key, names in CLOCK_LABELS.items():
        if text in names or text == key:
            return key
    return None


def _param_value(key: str, zh: str, default, raw):
    text = text_of(raw)
    if isinstance(default, bool) or default in ("是", "否"):
        value, _ = parse_bool(raw)
        return bool(value) if value is not None else default == "是"
    if isinstance(default, (int, float)):
        if text == "":
            return default
        try:
            number = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        except ValueError:
            raise RuleConflictError(f"设置：参数“{zh}”的值“{text}”应为数字")
        return int(number) if isinstance(default, int) and number.is_integer() else number
    if key in ("work_start", "work_end", "digest_time", "publish_time"):
        return _parse_hhmm(raw, zh)
    return text


def _parse_hhmm(raw, key) -> time:
    if isinstance(raw, time):
        return raw
    if hasattr(raw, "time"):
        return raw.time()
    if isinstance(raw, float) and 0 <= raw < 1:  # Excel time fraction
        minutes = round(raw * 24 * 60)
        return time(minutes // 60, minutes % 60)
    text = text_of(raw).replace("：", ":")
    try:
        h, m = text.split(":")[:2]
        return time(int(h), int(m))
    except (ValueError, TypeError):
        raise RuleConflictError(f"设置：参数“{key}”的时间“{text}”应写成 09:00 的形式")


def build_settings(raw: dict, staff: list[Person] | None = None,
                   roster: list[Shift] | None = None) -> Settings:
    """Parse raw 设置 blocks, one parser per block; raise RuleConflictError naming the cell of the
    first problem."""
    departments = _departments(raw.get("departments", []))
    params = _params(raw.get("params", []), departments)
    return Settings(departments, _routes(raw.get("routes", []), departments), _sla_rules(raw.get("sla", [])),
                    _member_levels(raw.get("member_levels", [])), _emotions(raw.get("emotions", [])),
                    _lists(raw.get("lists") or {}), params, list(staff or []), list(roster or []),
                    authority_table(raw.get("authority", []), float(params["cost_threshold"])),
                    _channel_sla(raw.get("channel_sla", [])))


def _departments(rows) -> dict[str, str]:
    departments: dict[str, str] = {}
    for addr, row in rows:
        code, name = text_of(row[0]), text_of(row[1] if len(row) > 1 else "")
        if not code:
            continue
        if code in departments:
            raise RuleConflictError(f"设置!{addr}：部门代码“{code}”重复")
        departments[code] = name or code
    if not departments:
        raise RuleConflictError("设置：部门表为空，至少需要一个部门代码")
    return departments


def _routes(rows, departments: dict[str, str]) -> dict[str, str]:
    routes: dict[str, str] = {}
    for addr, row in rows:
        category, code = text_of(row[0]), text_of(row[1] if len(row) > 1 else "")
        if not category and not code:
            continue
        if not category:
            raise RuleConflictError(f"设置!{addr}：分类路由缺少投诉类别")
        if category in routes:
            raise RuleConflictError(f"设置!{addr}：投诉类别“{category}”有两条路由")
        if code not in departments:
            raise RuleConflictError(f"设置!{addr}：类别“{category}”路由到未定义的部门代码“{code}”")
        routes[category] = code
    if not routes:
        raise RuleConflictError("设置：分类路由表为空")
    return routes


def _sla_rules(rows) -> dict[tuple[str, str], SlaRule]:
    """The 时效 block: one rule for every clock and priority, each given once."""
    sla: dict[tuple[str, str], SlaRule] = {}
    for addr, row in rows:
        row = tuple(row) + (None,) * 4
        if not any(text_of(v) for v in row[:4]):
            continue
        clock, prio = _sla_row(addr, row)
        if (clock, prio) in sla:
            raise RuleConflictError(f"设置!{addr}：{CLOCK_LABELS[clock][0]} {prio} 的时限重复")
        sla[(clock, prio)] = SlaRule(_sla_amount(addr, row[2]), _unit_key(text_of(row[3])) or "")
    for clock in CLOCKS:
        for prio in PRIORITIES:
            if (clock, prio) not in sla:
                raise RuleConflictError(f"设置：时效表缺少“{CLOCK_LABELS[clock][0]} {prio}”一行")
    return sla


def _sla_row(addr: str, row: tuple) -> tuple[str, str]:
    """The clock and priority of one 时效 row (its unit checked too)."""
    clock, prio = _clock_key(text_of(row[0])), text_of(row[1]).upper()
    if clock is None:
        raise RuleConflictError(f"设置!{addr}：未知的时效项“{text_of(row[0])}”"
                                "（可用：响应/方案/进度反馈/处理完毕/满意度回访）")
    if prio not in PRIORITIES:
        raise RuleConflictError(f"设置!{addr}：未知的优先级“{text_of(row[1])}”")
    if _unit_key(text_of(row[3])) is None:
        raise RuleConflictError(f"设置!{addr}：未知的时限单位“{text_of(row[3])}”（可用：日历小时/工作小时/工作日）")
    return clock, prio


def _sla_amount(addr: str, raw) -> float:
    try:
        amount = float(text_of(raw))
    except ValueError:
        raise RuleConflictError(f"设置!{addr}：时限“{text_of(raw)}”应为正数")
    if amount <= 0:
        raise RuleConflictError(f"设置!{addr}：时限应为正数")
    return amount


def _channel_sla(rows) -> dict[tuple[str, str], SlaRule]:
    """The optional 渠道响应时限 block: channel, priority (blank: every priority), limit, unit."""
    out: dict[tuple[str, str], SlaRule] = {}
    for addr, row in rows:
        row = tuple(row) + (None,) * 4
        channel, prio = text_of(row[0]), text_of(row[1]).upper()
        if not channel and not text_of(row[2]):
            continue
        if not channel:
            raise RuleConflictError(f"设置!{addr}：渠道响应时限缺少渠道")
        if prio and prio not in PRIORITIES:
            raise RuleConflictError(f"设置!{addr}：未知的优先级“{text_of(row[1])}”（空白表示所有优先级）")
        unit = _unit_key(text_of(row[3]))
        if unit is None:
            raise RuleConflictError(f"设置!{addr}：未知的时限单位“{text_of(row[3])}”（可用：日历小时/工作小时/工作日）")
        if (channel, prio) in out:
            raise RuleConflictError(f"设置!{addr}：渠道“{channel}”{prio or ''}的响应时限重复")
        out[(channel, prio)] = SlaRule(_sla_amount(addr, row[2]), unit)
    return out


def _member_levels(rows) -> dict[str, str]:
    member_levels = {}
    for addr, row in rows:
        level, prio = text_of(row[0]), text_of(row[1] if len(row) > 1 else "").upper() or "P2"
        if level:
            if prio not in PRIORITIES:
                raise RuleConflictError(f"设置!{addr}：会员等级“{level}”的最低优先级“{prio}”无效")
            member_levels[level] = prio
    return member_levels


def _emotions(rows) -> dict[str, bool]:
    return {text_of(row[0]): bool(parse_bool(row[1] if len(row) > 1 else None)[0])
            for _, row in rows if text_of(row[0])}


def _params(rows, departments: dict[str, str]) -> dict[str, Any]:
    """The 参数 block: every parameter (its default where not given), checked against each other."""
    given = {text_of(row[0]): row[1] if len(row) > 1 else None for _, row in rows}
    params: dict[str, Any] = {key: _param_value(key, zh, default, given.get(zh, given.get(key, default)))
                              for key, zh, default, _ in DEFAULT_PARAMS}
    if params["default_dept_code"] not in departments:
        raise RuleConflictError(f"设置：默认部门代码“{params['default_dept_code']}”不在部门表中")
    if not 0 < params["at_risk_share"] < 1:
        raise RuleConflictError("设置：即将超时阈值应在 0 和 1 之间（例如 25%）")
    if params["work_start"] >= params["work_end"]:
        raise RuleConflictError("设置：工作时间开始应早于结束")
    try:
        re.compile(text_of(params["legacy_number_pattern"]))
    except re.error as exc:
        raise RuleConflictError(f"设置：旧编号格式“{params['legacy_number_pattern']}”不是有效的正则表达式（{exc}）")
    params["group_event_fields"] = _group_fields(params["group_event_fields"])
    return params


def _group_fields(text) -> tuple[str, ...]:
    """群诉归并字段 as field keys: register column names (or keys) separated by 、，, or ;."""
    lookup, keys = header_lookup(), []
    for name in re.split(r"[、，,;；]", text_of(text)):
        if not name.strip():
            continue
        key = lookup.get(normalise_header(name))
        if key is None:
            raise RuleConflictError(f"设置：群诉归并字段“{name.strip()[:20]}”不是登记表的列名"
                                    "（例如 涉及产品/服务、订单号、地点）")
        keys.append(key)
    return tuple(dict.fromkeys(keys))


def group_rule(s: "Settings") -> GroupRule:
    """The 群诉 rule of 设置."""
    return GroupRule(min_count=int(s.param("group_event_count")),
                     window=timedelta(hours=float(s.param("group_event_hours"))),
                     fields=tuple(s.param("group_event_fields")),
                     same_category=bool(s.param("group_event_same_category")))


def _lists(given: dict) -> dict[str, tuple]:
    """The dropdown lists: the defaults, each replaced by the 设置 list of that name when it has values."""
    lists = {k: tuple(v) for k, v in DEFAULT_LISTS.items()}
    for name, values in given.items():
        cleaned = tuple(text_of(v) for v in values if text_of(v))
        if cleaned:
            lists[name] = cleaned
    lists["priority"] = PRIORITIES
    return lists


def role_key(text: str) -> str | None:
    for key, names in ROLES.items():
        if text in names or text == key:
            return key
    return None
