"""Services — realistic sample complaints for the demo and the benchmark (seeded, reproducible).

Rows cover every channel and category, urgent cases, repeat customers, VIPs,
complaints at every stage of handling (with scores for the older ones) and a
few rows with bad data, as a real desk's register would have.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力晨宇欣怡子涵浩然"
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆", "苏州", "天津")
CHANNELS = ("电话", "在线客服", "邮件", "社交媒体", "门店")
LEVELS = ("普通会员", "普通会员", "普通会员", "银卡会员", "金卡会员", "钻石会员", "企业客户")
EMOTIONS = ("平静", "平静", "不满", "不满", "焦虑", "愤怒", "情绪激动")
CASES = {
    "产品质量": (("智能电饭煲 MC-30", "使用一周后内胆涂层脱落", "更换新品"),
               ("无线吸尘器 V8", "充电后无法开机，指示灯不亮", "维修或换货"),
               ("儿童安全座椅 S2", "卡扣断裂，存在安全隐患", "退货退款并赔偿"),
               ("空气净化器 P5", "运行时有明显焦糊味", "退货退款")),
    "物流履约": (("冬季羽绒服", "承诺次日达，已超过 5 天未收到", "尽快送达并补偿运费"),
               ("生鲜礼盒", "收到时包装破损，部分商品变质", "补发"),
               ("办公椅", "快递员未送货上门即显示签收", "核实并重新配送")),
    "服务态度": (("在线客服", "客服回复敷衍，多次转接无人处理", "道歉并给出处理时间"),
               ("门店导购", "导购态度恶劣，拒绝试用", "道歉")),
    "系统故障": (("会员 App", "支付成功但订单显示未付款，重复扣款", "退还重复扣款"),
               ("官网", "优惠券无法使用，结算报错", "补发优惠券")),
    "售后": (("笔记本电脑", "送修 20 天仍无进度反馈", "告知进度并提供备用机"),
           ("洗衣机", "安装师傅迟到且收取额外费用", "退还费用")),
    "其他": (("发票", "开具的发票抬头错误", "重新开票"),),
}
RESOLUTIONS = ("道歉", "解释说明", "补发", "换货", "退货退款", "部分退款", "优惠券", "维修")
PARTIES = ("商家", "物流", "公司内部", "第三方", "客户", "平台")


def _phone(rng) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def sample_complaints(n: int, now: datetime, seed: int = 20261008, days: int = 45,
                      bad_rows: bool = True) -> list[dict]:
    rng = random.Random(seed)
    customers = []
    for i in range(max(8, n // 3)):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        customers.append({"customer_name": name, "contact": _phone(rng),
                          "customer_id": f"C{100000 + i}" if rng.random() < 0.6 else "",
                          "member_level": rng.choice(LEVELS)})
    rows = []
    start = now - timedelta(days=days)
    for i in range(n):
        cust = rng.choice(customers)
        category = rng.choices(list(CASES), weights=(30, 25, 15, 10, 12, 8))[0]
        product, problem, demand = rng.choice(CASES[category])
        if n > 1000:  # a large desk sells many batches: its complaints are not one 群诉 per product
            product = f"{product} 批次{rng.randint(1, n // 40)}"
        received = start + timedelta(minutes=rng.randint(0, days * 24 * 60))
        received = received.replace(second=0, microsecond=0)
        age_h = (now - received).total_seconds() / 3600
        row = {
            "received_at": received, "channel": rng.choice(CHANNELS),
            "request_type": rng.choices(("投诉", "咨询", "建议"), weights=(90, 7, 3))[0],
            **cust, "order_no": f"DD{rng.randint(10**11, 10**12 - 1)}", "product": product,
            "location": rng.choice(CITIES), "description": problem, "demand": demand,
            "emotion": rng.choice(EMOTIONS), "category": category,
            "safety_risk": "是" if "安全" in problem or "焦糊" in problem else "否",
            "dept_code": "CS", "recorded_by": rng.choice(("李客服", "赵敏", "王主管")),
        }
        _progress(rng, row, received, age_h, now)
        rows.append(row)
    rows.sort(key=lambda r: r["received_at"])
    if bad_rows and n >= 20:
        rows[3]["contact"], rows[3]["customer_id"] = "", ""
        rows[7]["received_at"] = "上周三下午"
        rows[11]["category"] = "价格争议"
        rows[15]["description"] = ""
        rows[18]["description"] = "=HYPERLINK(\"http://example.com\",\"点我\") 客户在描述里粘贴了公式"
    if bad_rows and n >= 20:
        _handling_examples(rows, now)
    return rows


DUPLICATE_NOTE = "客户在线上又提交了一次（重复登记）"


def _handling_examples(rows: list[dict], now: datetime) -> None:
    """What a desk's register shows beyond intake: two reassigned cases, one waiting for the
    customer, one reopened after the customer confirmed, and one complaint registered twice."""
    complaints = [r for r in rows if r["request_type"] == "投诉" and isinstance(r["received_at"], datetime)]
    handling = [r for r in complaints if r.get("first_response_at") and not r.get("resolved_at")]
    if len(handling) >= 4:
        handling[0].update(assignee="李客服", assignee_dept="AS", remarks="转派售后部李客服跟进")
        handling[1].update(assignee="刘主管")
        waiting_from = handling[2]["first_response_at"] + timedelta(hours=1)
        if waiting_from < now:
            handling[2].update(paused_from=waiting_from, remarks="等待客户补充照片")
            if waiting_from + timedelta(hours=20) < now:
                handling[2]["paused_until"] = waiting_from + timedelta(hours=20)
        first = handling[3]
        twin = {k: first[k] for k in ("customer_name", "contact", "customer_id", "member_level", "order_no",
                                      "product", "location", "description", "demand", "emotion", "category",
                                      "safety_risk", "dept_code", "request_type")}
        twin.update(received_at=first["received_at"] + timedelta(minutes=20), channel="在线客服",
                    recorded_by="赵敏", remarks=DUPLICATE_NOTE)
        rows.insert(rows.index(first) + 1, twin)
    confirmed = [r for r in complaints if r.get("confirmed_at") and r["confirmed_at"] + timedelta(days=1) < now]
    if confirmed:
        confirmed[0].update(reopened_at=confirmed[0]["confirmed_at"] + timedelta(days=1),
                            remarks="客户反映问题复发，重新打开")


def _progress(rng, row, received, age_h, now) -> None:
    """Fill process columns as far as a complaint of this age would have got."""
    if age_h < 2 and rng.random() < 0.7:
        return
    first = received + timedelta(minutes=rng.randint(10, 600))
    if first >= now:
        return
    row["first_response_at"] = first
    if age_h > 12:
        row["plan_measures"] = "联系客户核实情况，" + rng.choice(("安排换货", "安排退款", "安排上门维修", "补发商品"))
        row["plan_deadline"] = first + timedelta(days=rng.randint(1, 5))
        row["plan_reviewed_by"] = "王主管"
        if first + timedelta(hours=3) < now:
            row["plan_made_at"] = first + timedelta(hours=3)
    if age_h > 30 and rng.random() < 0.85:
        resolved = first + timedelta(hours=rng.randint(4, 150))
        if resolved < now:
            _resolved(rng, row, first, resolved, now)


def _resolved(rng, row, first, resolved, now) -> None:
    """A resolved complaint: the resolution, then as far as confirmation and survey would have got."""
    row["resolved_at"] = resolved
    row["resolution_type"] = rng.choice(RESOLUTIONS)
    row["responsibility"] = rng.choice(PARTIES)
    row["cost"] = rng.choice((0, 0, 20, 50, 100, 300, 1500))
    row["last_update_at"] = first + (resolved - first) / 2
    if rng.random() < 0.85 and resolved + timedelta(hours=30) < now:
        row["customer_agrees"] = "是"
        row["confirmed_at"] = resolved + timedelta(hours=rng.randint(1, 24))
        if row["confirmed_at"] + timedelta(days=3) < now and rng.random() < 0.8:
            _surveyed(rng, row)
    elif rng.random() < 0.3:
        row["customer_agrees"] = "否"
        row["objection"] = "客户认为补偿不足"


def _surveyed(rng, row) -> None:
    row["survey_sent_at"] = row["confirmed_at"] + timedelta(hours=rng.randint(2, 60))
    scores = [rng.choices((2, 3, 4, 5), weights=(1, 2, 4, 6))[0] for _ in range(3)]
    row["score_efficiency"], row["score_attitude"], row["score_solution"] = scores
    if min(scores) <= 3 and rng.random() < 0.6:
        row["callback_done_at"] = row["survey_sent_at"] + timedelta(days=1)
        row["callback_note"] = "主管已回访，客户接受改进说明"
    if rng.random() < 0.1:
        row["case_library"] = "是"
