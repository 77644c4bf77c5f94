"""Adapter — the group store's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Schema version `g001` (Alembic, adapters/group_schema/versions): a change here needs a new
revision beside it. Each branch's rows are keyed by (branch, complaint number); what leaves a
branch is masked (`record`: the export record with names, phones and free text masked;
`customer_key`: a salted hash). `facts` holds the fields the monthly KPIs read (kpis.KPI_KEYS).
`branch_months` holds each branch's monthly KPIs, computed from its facts by the publication that
changed them, so the group report reads one small document per branch and month.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "group_meta", metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

branches = Table(
    "branches", metadata,
    Column("name", String(100), primary_key=True),
    Column("register", String(255), nullable=False),      # the register file the branch publishes
    Column("first_published_at", String(19), nullable=False),
    Column("last_published_at", String(19), nullable=False),
    Column("complaints", Integer, nullable=False, default=0),
    Column("csat_target", Float, nullable=False),
    Column("response_hours_target", Float, nullable=False),
    Column("hotspot_threshold", Integer, nullable=False),
    Column("source_stamp", String(64)),  # the files the last publication was made from
)

complaints = Table(
    "complaints", metadata,
    Column("branch", String(100), ForeignKey("branches.name"), primary_key=True),
    Column("complaint_no", String(60), primary_key=True),
    Column("received_at", String(19)),
    Column("month", String(7)),
    Column("counted", Boolean, nullable=False),  # a valid complaint (the KPIs' "counted")
    Column("category", String(100)),
    Column("product", String(200)),
    Column("customer_key", String(32)),
    Column("group_event", String(40)),
    Column("status", String(30)),
    Column("case_library", Boolean, nullable=False),
    Column("contacts", Integer, nullable=False),   # 沟通记录 entries of the complaint
    Column("last_contact_at", String(19)),
    Column("archived", Boolean, nullable=False),   # read from the branch's archive, not its register
    Column("facts", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("fingerprint", String(40), nullable=False),
    Column("published_at", String(19), nullable=False),
)
Index("ix_complaints_month", complaints.c.month, complaints.c.branch)
Index("ix_complaints_customer", complaints.c.customer_key)
Index("ix_complaints_event", complaints.c.group_event)

branch_months = Table(  # a branch's KPIs of a month, computed when it publishes (the group report reads them)
    "branch_months", metadata,
    Column("branch", String(100), ForeignKey("branches.name"), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("kpis", Text, nullable=False),      # monthly_kpis of the month (trend counted by the report)
    # [[product, category, count this month, count the month before, [first numbers]], …]
    Column("hotspots", Text, nullable=False),
    Column("computed_at", String(19), nullable=False),
)

publications = Table(
    "publications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("branch", String(100), ForeignKey("branches.name"), nullable=False),
    Column("published_at", String(19), nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
)
