"""Domain — the single source of truth for the register's columns.

Every column has a stable English key (used by the CLI, export, import and
tests), a Chinese and an English header label, a group (who writes it), a
kind (how values are parsed and formatted) and, for dropdown columns, the name
of the 设置 list that feeds both the Excel dropdown and the code's checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

INTAKE, AUTOMATION, PROCESS = "intake", "automation", "process"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    group: str
    kind: str = "text"  # text|datetime|date|choice|bool|int|money|score|multiline
    choices: str | None = None  # name of a 设置 list
    width: int = 12

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


def _c(key, zh, en, group, kind="text", choices=None, width=12):
    return Column(key, zh, en, group, kind, choices, width)


COLUMNS: tuple[Column, ...] = (
    # automation first: the number is what people look for
    _c("complaint_no", "投诉编号", "Complaint No", AUTOMATION, width=20),
    # intake
    _c("received_at", "接收时间", "Received At", INTAKE, "datetime", width=17),
    _c("channel", "接收渠道", "Channel", INTAKE, "choice", "channel", 11),
    _c("request_type", "诉求类型", "Request Type", INTAKE, "choice", "request_type", 9),
    _c("customer_name", "客户姓名/昵称", "Customer Name", INTAKE, width=12),
    _c("contact", "联系方式", "Contact", INTAKE, width=16),
    _c("member_level", "会员等级", "Member Level", INTAKE, "choice", "member_level", 10),
    _c("customer_id", "客户ID", "Customer ID", INTAKE, width=12),
    _c("order_no", "订单号", "Order No", INTAKE, width=16),
    _c("product", "涉及产品/服务", "Product/Service", INTAKE, width=16),
    _c("location", "地点", "Location", INTAKE, width=10),
    _c("description", "问题描述", "Description", INTAKE, "multiline", width=36),
    _c("demand", "客户诉求", "Customer Demand", INTAKE, "multiline", width=20),
    _c("emotion", "情绪状态", "Emotion", INTAKE, "choice", "emotion", 10),
    _c("category", "投诉类别", "Category", INTAKE, "choice", "category", 11),
    _c("safety_risk", "涉及安全/重大损失", "Safety/Major Loss", INTAKE, "bool", "yes_no", 10),
    _c("dept_code", "部门代码", "Dept Code", INTAKE, "choice", "dept_code", 9),
    _c("recorded_by", "登记人", "Recorded By", INTAKE, width=9),
    # automation
    _c("urgency", "紧急程度", "Urgency", AUTOMATION, width=8),
    _c("priority", "优先级", "Priority", AUTOMATION, width=7),
    _c("is_repeat", "重复投诉", "Repeat", AUTOMATION, "bool", width=8),
    _c("related_nos", "关联投诉编号", "Related Nos", AUTOMATION, width=22),
    _c("group_event", "群诉编号", "Group Event", AUTOMATION, width=15),
    _c("department", "处理部门", "Department", AUTOMATION, width=11),
    _c("handler", "受理人", "Handler", AUTOMATION, width=9),
    _c("cc", "抄送", "CC", AUTOMATION, width=16),
    _c("response_due", "响应截止", "Response Due", AUTOMATION, "datetime", width=17),
    _c("plan_due", "方案截止", "Plan Due", AUTOMATION, "datetime", width=17),
    _c("next_update_due", "下次进度反馈截止", "Next Update Due", AUTOMATION, "datetime", width=17),
    _c("resolve_due", "处理完毕截止", "Resolve Due", AUTOMATION, "datetime", width=17),
    _c("survey_due", "回访截止", "Survey Due", AUTOMATION, "datetime", width=17),
    _c("response_status", "响应时效", "Response SLA", AUTOMATION, width=9),
    _c("plan_status", "方案时效", "Plan SLA", AUTOMATION, width=9),
    _c("update_status", "反馈时效", "Update SLA", AUTOMATION, width=9),
    _c("resolve_status", "处理时效", "Resolve SLA", AUTOMATION, width=9),
    _c("survey_status", "回访时效", "Survey SLA", AUTOMATION, width=9),
    _c("sla_status", "时效状态", "SLA Status", AUTOMATION, width=9),
    _c("status", "处理状态", "Status", AUTOMATION, width=9),
    _c("escalated", "已升级", "Escalated", AUTOMATION, "bool", width=7),
    _c("approval_required", "需经理审批", "Approval Required", AUTOMATION, "bool", width=9),
    _c("callback_required", "需主管回访", "Callback Required", AUTOMATION, "bool", width=9),
    _c("callback_owner", "回访负责人", "Callback Owner", AUTOMATION, width=9),
    _c("callback_due", "主管回访截止", "Callback Due", AUTOMATION, "datetime", width=17),
    _c("closed_at", "关闭时间", "Closed At", AUTOMATION, "datetime", width=17),
    _c("validation", "校验提示", "Validation", AUTOMATION, width=30),
    # process
    _c("priority_override", "优先级调整", "Priority Override", PROCESS, "choice", "priority", 9),
    _c("is_valid", "是否有效", "Valid", PROCESS, "choice", "validity", 8),
    _c("invalid_reason", "无效原因", "Invalid Reason", PROCESS, width=14),
    _c("merged_into", "合并到", "Merged Into", PROCESS, width=20),
    _c("assignee", "处理人", "Assignee", PROCESS, width=9),
    _c("assignee_dept", "转派部门", "Reassigned To", PROCESS, "choice", "dept_code", 9),
    _c("first_response_at", "首次响应时间", "First Response At", PROCESS, "datetime", width=17),
    _c("cause_analysis", "原因分析", "Cause Analysis", PROCESS, "multiline", width=24),
    _c("plan_measures", "处理措施", "Plan Measures", PROCESS, "multiline", width=24),
    _c("plan_deadline", "方案完成时限", "Plan Deadline", PROCESS, "datetime", width=17),
    _c("plan_resources", "所需资源", "Plan Resources", PROCESS, width=14),
    _c("plan_made_at", "方案制定时间", "Plan Made At", PROCESS, "datetime", width=17),
    _c("plan_reviewed_by", "方案审核人", "Plan Reviewed By", PROCESS, width=9),
    _c("approved_by", "审批人", "Approved By", PROCESS, width=9),
    _c("approved_at", "审批时间", "Approved At", PROCESS, "datetime", width=17),
    _c("plan_agreed_at", "客户同意方案时间", "Plan Agreed At", PROCESS, "datetime", width=17),
    _c("paused_from", "等待客户开始", "Paused From", PROCESS, "datetime", width=17),
    _c("paused_until", "等待客户结束", "Paused Until", PROCESS, "datetime", width=17),
    _c("last_update_at", "最近进度反馈时间", "Last Update At", PROCESS, "datetime", width=17),
    _c("resolution_type", "解决方式", "Resolution Type", PROCESS, "choice", "resolution_type", 11),
    _c("responsibility", "责任方", "Responsibility", PROCESS, "choice", "responsibility", 10),
    _c("cost", "处理成本(元)", "Cost (CNY)", PROCESS, "money", width=10),
    _c("resolved_at", "处理完成时间", "Resolved At", PROCESS, "datetime", width=17),
    _c("customer_agrees", "客户认可", "Customer Agrees", PROCESS, "bool", "yes_no", 8),
    _c("objection", "客户异议", "Objection", PROCESS, width=16),
    _c("confirmed_at", "结果确认时间", "Confirmed At", PROCESS, "datetime", width=17),
    _c("reopened_at", "重新打开时间", "Reopened At", PROCESS, "datetime", width=17),
    _c("survey_sent_at", "回访发送时间", "Survey Sent At", PROCESS, "datetime", width=17),
    _c("score_efficiency", "处理效率评分", "Efficiency Score", PROCESS, "score", width=8),
    _c("score_attitude", "服务态度评分", "Attitude Score", PROCESS, "score", width=8),
    _c("score_solution", "解决方案评分", "Solution Score", PROCESS, "score", width=8),
    _c("survey_comment", "回访意见", "Survey Comment", PROCESS, width=18),
    _c("callback_done_at", "主管回访时间", "Callback Done At", PROCESS, "datetime", width=17),
    _c("callback_note", "回访记录", "Callback Note", PROCESS, width=18),
    _c("improvement", "改进建议", "Improvement", PROCESS, "multiline", width=20),
    _c("case_library", "入案例库", "Case Library", PROCESS, "bool", "yes_no", 8),
    _c("evidence", "证据链接", "Evidence", PROCESS, width=24),
    _c("tags", "标签", "Tags", PROCESS, width=14),
    _c("remarks", "备注", "Remarks", PROCESS, width=16),
)

BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
AUTOMATION_KEYS = frozenset(c.key for c in COLUMNS if c.group == AUTOMATION)
STAFF_KEYS = frozenset(c.key for c in COLUMNS if c.group != AUTOMATION)
DATETIME_KEYS = frozenset(c.key for c in COLUMNS if c.kind == "datetime")
# automation columns newer registers have and older ones may lack: the tool works without them
# (what they would show is said elsewhere too), and `check` says how to add one
OPTIONAL_KEYS = frozenset({"group_event", "callback_owner", "callback_due"})
# staff columns the tool fills once, when they are empty (the time it first saw the plan made or
# approved); what staff type there is never overwritten
STAMP_KEYS = frozenset({"plan_made_at", "approved_at"})
# staff columns of case handling newer registers have (older ones work without them; `check` names them)
NEWER_STAFF_KEYS = ("merged_into", "assignee", "assignee_dept", "plan_made_at", "approved_at",
                    "plan_agreed_at", "paused_from", "paused_until", "reopened_at", "cause_analysis",
                    "improvement", "evidence", "tags")


# Headers other systems and other registers use for our columns (import and the register read both).
HEADER_ALIASES = {
    "customer_name": ("客户姓名", "客户名称", "姓名", "客户", "昵称", "顾客姓名", "联系人", "Customer Name"),
    "contact": ("联系电话", "电话", "手机", "手机号", "手机号码", "电话号码", "联系号码", "Phone", "Mobile"),
    "request_type": ("投诉类型", "诉求类别", "来电类型", "工单类型"),
    "category": ("投诉分类", "问题类别", "问题分类", "投诉类目"),
    "channel": ("渠道", "来源渠道", "受理渠道", "投诉渠道"),
    "received_at": ("投诉时间", "受理时间", "来电时间", "创建时间", "登记时间", "提交时间"),
    "description": ("问题内容", "投诉内容", "详细描述"),
    "demand": ("诉求", "客户要求", "客户期望"),
    "order_no": ("订单编号", "订单号码"),
    "product": ("产品名称", "商品名称", "涉及产品", "涉及服务"),
    "customer_id": ("客户编号", "会员ID", "会员号", "用户ID"),
    "member_level": ("会员级别", "客户等级"),
    "emotion": ("客户情绪",),
    "recorded_by": ("登记员", "受理客服"),
}


def _own_names() -> dict[str, str]:
    """The register's own header texts (key, zh, en; normalised) -> key."""
    return {normalise_header(t): c.key for c in COLUMNS for t in (c.key, c.zh, c.en)}


def _alias_names() -> dict[str, str]:
    """HEADER_ALIASES' texts (normalised) -> key."""
    return {normalise_header(t): key for key, texts in HEADER_ALIASES.items() for t in texts}


def header_lookup() -> dict[str, str]:
    """Map every accepted header text (key, zh, en, the aliases; case/space-insensitive) to a key;
    the register's own names win over an alias."""
    return _alias_names() | _own_names()


class HeaderMatch(NamedTuple):
    columns: dict[int, str]                 # column -> key
    unknown: list[tuple[int, object]]       # (column, header) of headers that name no column
    repeated: list[tuple[int, object, str]]  # (column, header, key): a register header a second time
    shadowed: list[tuple[int, object, str]]  # (column, header, key): an alias of a key already named


def match_headers(headers: Iterable[tuple[int, object]]) -> HeaderMatch:
    """Headers (column, text) as column keys: the register's own names (key, zh, en) first, then the
    aliases other systems use (联系电话, 手机 …) for keys no header names — so a register with its
    own 手机 column beside 联系方式 keeps it as a column of its own."""
    canonical, aliases = _own_names(), _alias_names()
    found = HeaderMatch({}, [], [], [])
    items = sorted(headers, key=lambda ct: ct[0])
    for col, text in items:
        key = canonical.get(normalise_header(text))
        if key is not None and key in found.columns.values():
            found.repeated.append((col, text, key))
        elif key is not None:
            found.columns[col] = key
    for col, text in items:
        name = normalise_header(text)
        if not name or name in canonical:
            continue
        key = aliases.get(name)
        if key is None:
            found.unknown.append((col, text))
        elif key in found.columns.values():
            found.shadowed.append((col, text, key))
        else:
            found.columns[col] = key
    return found


def nearest_header(text: object, lang: str = "zh") -> str | None:
    """The register header closest to a header that is none (a typo: 接受渠道 → 接收渠道), by edit
    distance over every accepted text; None when nothing is close."""
    typed = normalise_header(text)
    if not typed:
        return None
    best, best_distance = None, None
    for known, key in header_lookup().items():
        distance = _edit_distance(typed, known)
        if best_distance is None or distance < best_distance:
            best, best_distance = key, distance
    if best is None or best_distance is None or best_distance > max(1, len(typed) // 3):
        return None
    return BY_KEY[best].zh if lang == "zh" else BY_KEY[best].en


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalise_header(text: object) -> str:
    return "".join(str(text or "").split()).lower().replace("（", "(").replace("）", ")")


# Sheet names (zh, en) by role.
SHEETS = {
    "register": ("投诉登记", "Register"),
    "comms": ("沟通记录", "Communications"),
    "settings": ("设置", "Settings"),
    "calendar": ("节假日", "Holidays"),
    "roster": ("值班", "Duty Roster"),
    "staff": ("人员", "Staff"),
    "audit": ("变更记录", "Audit"),
    "readme": ("说明", "Read Me"),
    "alerts": ("预警", "Alerts"),
    "cases": ("案例库", "Case Library"),
    "counter": ("编号计数", "Counters"),
    "notified": ("通知记录", "Notifications"),
    "archives": ("归档记录", "Archives"),
    "workload": ("工作量", "Workload"),
    "actions": ("整改", "Improvement Actions"),
    "campaign": ("回访活动", "Survey Campaigns"),
}
# the tool's bookkeeping sheets: hidden from staff (Excel: 取消隐藏 shows them)
HIDDEN_ROLES = ("counter", "notified", "archives")


def sheet_name(role: str, lang: str = "zh") -> str:
    zh, en = SHEETS[role]
    return zh if lang == "zh" else en


# Tool sheets: role -> list of (key, zh, en) columns.
COMMS_COLUMNS = (("complaint_no", "投诉编号", "Complaint No"), ("time", "时间", "Time"),
                 ("channel", "沟通渠道", "Channel"), ("who", "沟通人", "By"),
                 ("content", "沟通内容", "Content"), ("next_step", "下一步", "Next Step"))
AUDIT_COLUMNS = (("time", "时间", "Time"), ("source", "来源", "Source"),
                 ("complaint_no", "投诉编号", "Complaint No"), ("column", "字段", "Field"),
                 ("old", "原值", "Old"), ("new", "新值", "New"))
STAFF_COLUMNS = (("name", "姓名", "Name"), ("dept_code", "部门代码", "Dept Code"),
                 ("role", "角色", "Role"), ("email", "邮箱", "E-mail"))
ROSTER_COLUMNS = (("date", "日期/星期", "Date/Weekday"), ("start", "开始", "Start"),
                  ("end", "结束", "End"), ("supervisor", "值班主管", "Duty Supervisor"))
CALENDAR_COLUMNS = (("date", "日期", "Date"), ("kind", "类型", "Kind"), ("name", "名称", "Name"))
COUNTER_COLUMNS = (("prefix", "日期-部门", "Date-Dept"), ("last", "最大流水号", "Last Serial"))
NOTIFIED_COLUMNS = (("key", "预警键", "Alert Key"), ("time", "发送时间", "Sent At"),
                    ("to", "收件人", "Recipient"))
ARCHIVE_RECORD_COLUMNS = (("file", "归档文件", "Archive File"), ("complaints", "投诉数", "Complaints"),
                          ("recorded_at", "记录时间", "Recorded At"))
ALERT_COLUMNS = (("complaint_no", "投诉编号", "Complaint No"), ("clock", "时效项", "Clock"),
                 ("state", "状态", "State"), ("due", "截止时间", "Due"),
                 ("hours_over", "超时(小时)", "Hours Over"), ("priority", "优先级", "Priority"),
                 ("handler", "受理人", "Handler"), ("department", "处理部门", "Department"),
                 ("cc", "抄送/升级", "CC/Escalation"))
CASE_COLUMNS = (("complaint_no", "投诉编号", "Complaint No"), ("category", "投诉类别", "Category"),
                ("product", "涉及产品/服务", "Product"), ("description", "问题描述", "Description"),
                ("cause_analysis", "原因分析", "Cause"), ("plan_measures", "处理措施", "Measures"),
                ("resolution_type", "解决方式", "Resolution"), ("responsibility", "责任方", "Responsibility"),
                ("improvement", "改进建议", "Improvement"), ("scores", "评分(效率/态度/方案)", "Scores"),
                ("customer", "客户", "Customer"))
# the rows a worksheet can hold: Excel opens no more (a file holding more loses them there)
EXCEL_MAX_ROWS = 1_048_576
EXCEL_ROWS_WARN_SHARE = 0.8  # from this share of them a save warns: weeks ahead at a busy desk's pace

WORKLOAD_COLUMNS = (("handler", "处理人", "Handler"), ("department", "处理部门", "Department"),
                    ("p0", "P0", "P0"), ("p1", "P1", "P1"), ("p2", "P2", "P2"), ("total", "合计", "Total"),
                    ("breached", "已超时", "Breached"), ("at_risk", "即将超时", "At Risk"),
                    ("soonest_due", "最早截止", "Soonest Due"), ("soonest_no", "最早截止的投诉", "Soonest Due No"))
# 整改 (seed 004 限期整改): kept by staff, read by the tool (预警, mail, the monthly report)
ACTION_COLUMNS = (("action_no", "整改编号", "Action No"), ("complaint_nos", "来源投诉编号", "Source Complaints"),
                  ("problem", "高频问题(产品/服务 × 类别)", "Problem (Product × Category)"),
                  ("content", "整改措施", "Action"), ("owner", "负责人", "Owner"), ("due", "整改期限", "Deadline"),
                  ("done_at", "完成时间", "Done At"), ("note", "备注", "Note"))
# 回访活动 (seed 002 定期满意度调查): one row per customer asked; the answers filled by `surveys import`
CAMPAIGN_COLUMNS = (("campaign", "回访活动", "Campaign"), ("complaint_no", "投诉编号", "Complaint No"),
                    ("customer", "客户", "Customer"), ("contact", "联系方式", "Contact"),
                    ("sent_at", "发出时间", "Sent At"), ("score_efficiency", "处理效率", "Efficiency"),
                    ("score_attitude", "服务态度", "Attitude"), ("score_solution", "解决方案", "Solution"),
                    ("comment", "意见", "Comment"), ("answered_at", "回收时间", "Answered At"))
TOOL_COLUMNS = {"comms": COMMS_COLUMNS, "audit": AUDIT_COLUMNS, "staff": STAFF_COLUMNS,
                "roster": ROSTER_COLUMNS, "calendar": CALENDAR_COLUMNS,
                "counter": COUNTER_COLUMNS, "notified": NOTIFIED_COLUMNS, "archives": ARCHIVE_RECORD_COLUMNS,
                "alerts": ALERT_COLUMNS, "cases": CASE_COLUMNS,
                "workload": WORKLOAD_COLUMNS, "actions": ACTION_COLUMNS, "campaign": CAMPAIGN_COLUMNS}
