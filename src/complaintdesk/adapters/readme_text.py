"""Adapter — the text of the 说明 (read-me) sheet, built from the schema and label tables."""
from __future__ import annotations

from ..domain import labels
from ..domain.schema import AUTOMATION, COLUMNS, PROCESS

_ZH_INTRO = (
    ("客户投诉登记表 使用说明", "h1"),
    ("本工作簿由 complaintdesk 生成。客服人员在“投诉登记”表中录入投诉，点击“投诉管理”选项卡上的按钮"
     "（或在命令行运行 complaintdesk 命令），系统自动编号、判定优先级、分派部门、计算时效并预警。", ""),
    ("一、员工需要填写的列（蓝色表头）", "h2"),
)
_ZH_BUTTONS = (
    ("三、按钮与命令", "h2"),
    ("登记编号（complaintdesk assign）：为新行生成投诉编号（日期-部门代码-流水号），判定紧急程度与优先级，"
     "识别重复投诉，分派处理部门、受理人（当班主管）与抄送。", ""),
    ("刷新时效（complaintdesk sla）：按中国法定节假日与调休计算各项时限，标记 正常/即将超时/已超时，"
     "更新“预警”表，必要时发送邮件提醒。", ""),
    ("生成文档（complaintdesk docs）：生成任务分配记录表、处理方案表、结果确认表、满意度调查表。", ""),
    ("导入回访（complaintdesk surveys import）：导入满意度调查结果；任一评分≤3分需主管回访。", ""),
    ("记录沟通（complaintdesk log）：在“沟通记录”追加一条，并更新最近进度反馈时间。", ""),
    ("月度报告（complaintdesk report）：生成上月《月度投诉分析报告》。", ""),
    ("归档（complaintdesk archive）：把关闭超过 30 天的投诉移到按年份的归档文件，它们的变更记录移到“变更记录_日期”文件"
     "（登记表的变更记录因此不会超过 Excel 的行数上限；任何工作表达到上限的 80% 时，每次保存后都会提醒运行归档），"
     "保留至少 3 年。", ""),
    ("登记表可以一直开着：别人在其他电脑上查询、导出、生成报告读取的是最近一次保存的版本；调度器照常发送预警邮件；"
     "他们记录的沟通、导入的回访会排队，在登记表关闭后（或下次在本表点击按钮时）自动写入，只写一次。"
     "请经常保存（Ctrl+S），预警按已保存的内容计算。", ""),
    ("四、处理状态", "h2"),
)
_ZH_OUTRO = (
    ("五、设置", "h2"),
    ("“设置”表中的部门、分类路由、时效标准、会员等级、情绪、下拉选项和参数均可修改；下拉列表直接取自这些表。"
     "“节假日”表可补充或覆盖法定节假日（类型：休息日 / 调休上班）。“值班”表决定默认受理人；“人员”表提供部门负责人、"
     "客服主管、客服经理和邮箱（出厂为示例人员，请替换为贵司人员）。", ""),
    ("所有由系统修改的单元格都记录在“变更记录”表中；系统从不修改员工填写的单元格。"
     "保存前会在 .bak 文件夹保留历史版本。", ""),
)
_STATUS_ZH = {
    "registered": "已登记，尚未首次响应客户",
    "processing": "已响应，正在处理；客户不认可处理结果时也回到此状态",
    "awaiting_confirmation": "已处理完成，等待客户确认结果",
    "awaiting_survey": "客户已确认，等待满意度回访",
    "closed": "已确认、已回访（或回访期已过）且需要的主管回访已完成，系统填写关闭时间",
    "escalated": "处理超时、客户有异议或方案超出授权，已升级至客服经理",
    "waiting": "在“等待客户开始/结束”之间等待客户（补充材料、约定上门等），进度反馈和处理时效暂停计时",
    "merged": "重复登记的投诉，“合并到”填了主投诉编号：保留编号，不计入统计，不再计时",
    "invalid": "经核实为无效投诉（“是否有效”填“无效”）",
}


def readme_lines(lang: str = "zh") -> list[tuple[str, str]]:
    if lang != "zh":
        return _english()
    lines = list(_ZH_INTRO)
    staff = [c for c in COLUMNS if c.group != AUTOMATION]
    lines += [(f"{c.zh}" + ("（处理过程中填写）" if c.group == PROCESS else "（登记时填写）"), "")
              for c in staff]
    lines.append(("二、系统自动填写的列（灰色表头，请勿手工修改）", "h2"))
    lines.append(("、".join(c.zh for c in COLUMNS if c.group == AUTOMATION), ""))
    lines += list(_ZH_BUTTONS)
    lines += [(f"{labels.STATUS[k][0]}：{v}", "") for k, v in _STATUS_ZH.items()]
    lines += list(_ZH_OUTRO)
    return lines


def _english() -> list[tuple[str, str]]:
    lines = [("Complaint register — read me", "h1"),
             ("Staff type complaints into the Register sheet; the ribbon buttons (or the complaintdesk "
              "command) number, classify, route and time them.", ""),
             ("Columns staff fill in (blue headers)", "h2")]
    lines += [(c.en, "") for c in COLUMNS if c.group != AUTOMATION]
    lines.append(("Columns filled in by complaintdesk (grey headers)", "h2"))
    lines.append((", ".join(c.en for c in COLUMNS if c.group == AUTOMATION), ""))
    lines.append(("Statuses", "h2"))
    lines += [(f"{labels.STATUS[k][1]}: {v}", "") for k, v in _STATUS_ZH.items()]
    return lines
