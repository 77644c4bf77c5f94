"""Adapter — the group store: an SQLAlchemy database (SQLite file or PostgreSQL server) that every
branch publishes into and the group reports from.

One `GroupStore` per URL. Every publication is one transaction holding the branch's row lock
(PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE for a writer, readers never wait), so
branches publishing at once never block each other for long, and one branch published twice at once
never loses an update. The schema
is versioned with Alembic (group_schema/); a store of another version is refused with a message.
Database errors become GroupStoreError in Chinese, the password never shown.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote

from sqlalchemy import and_, bindparam, create_engine, event, func, inspect, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from ..errors import GroupStoreError
from .group_tables import branch_months, branches, complaints, meta, publications

SCHEMA_DIR = Path(__file__).with_name("group_schema")
CHUNK = 2000  # rows per INSERT/UPDATE batch
UPDATABLE = ("received_at", "month", "counted", "category", "product", "customer_key", "group_event", "status",
             "case_library", "contacts", "last_contact_at", "archived", "facts", "record", "fingerprint",
             "published_at")


@dataclass(frozen=True)
class Branch:
    name: str
    register: str
    csat_target: float
    response_hours_target: float
    hotspot_threshold: int


def _alembic_config(connection: Connection | None = None):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(SCHEMA_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _revisions() -> tuple[str, list[str]]:
    """(head revision, every revision this program knows)."""
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(_alembic_config())
    return script.get_current_head() or "", [r.revision for r in script.walk_revisions()]


def _sqlite_pragmas(engine: Engine) -> None:
    """SQLite: WAL (readers never wait for a publication), and BEGIN IMMEDIATE so that two writers
    queue at the start of their transactions instead of failing half-way."""
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # readers take no write lock: they never queue behind a publication
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writes") else "BEGIN")


def explain(exc: BaseException, shown: str) -> GroupStoreError:
    """A database error as the Chinese message a user can act on (`shown`: the URL, no password)."""
    text = str(getattr(exc, "orig", None) or exc)
    low = text.lower()
    if "password authentication failed" in low or "authentication failed" in low:
        return GroupStoreError(f"集团数据库拒绝登录：用户名或密码不对（{shown}）")
    if "does not exist" in low and "database" in low:
        return GroupStoreError(f"集团数据库不存在（{shown}）：请先在服务器上创建该数据库")
    if any(s in low for s in ("connection refused", "could not connect", "timeout expired", "timed out",
                              "no such file or directory", "name or service not known", "could not translate",
                              "connection failed", "server closed the connection")):
        return GroupStoreError(f"无法连接集团数据库（{shown}）：服务器未运行、地址或端口不对，或网络不通")
    if "unable to open database file" in low:
        return GroupStoreError(f"无法打开集团数据库文件（{shown}）：文件夹不存在或没有写入权限")
    if "database is locked" in low:
        return GroupStoreError(f"集团数据库正忙（{shown}）：其他分支正在上报，请稍后再试")
    if "file is not a database" in low or "file is encrypted" in low:
        return GroupStoreError(f"“{shown}”不是 SQLite 数据库文件")
    return GroupStoreError(f"集团数据库出错（{shown}）：{text.splitlines()[0][:200] if text else type(exc).__name__}")


class GroupStore:
    """The group database at `url` (an SQLAlchemy URL: sqlite:///集团汇总.db, postgresql+psycopg://…)."""

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise GroupStoreError(f"无法识别的数据库地址“{url[:80]}”：应为 sqlite:///集团汇总.db 或 "
                                  "postgresql+psycopg://用户:密码@主机:5432/库名")
        self.url = url  # as given (a worker process opens the same store)
        self.shown = unquote(parsed.render_as_string(hide_password=True))  # 集团汇总.db, not %E9%9B…
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite and parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.is_dir():
                raise GroupStoreError(f"无法打开集团数据库文件（{self.shown}）：文件夹“{folder}”不存在")
        args = {"timeout": 60} if self.sqlite else {"connect_timeout": 10}
        try:
            self.engine = create_engine(parsed, connect_args=args, pool_pre_ping=not self.sqlite)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise GroupStoreError(f"不支持的数据库类型（{self.shown}）：{exc}；可用 sqlite:/// 或 postgresql+psycopg://")
        if self.sqlite:
            _sqlite_pragmas(self.engine)

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (committed when the block ends well); errors explained."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(writes=write)
                with conn.begin():
                    yield conn
        except GroupStoreError:
            raise
        except IntegrityError as exc:
            raise GroupStoreError(f"集团数据库拒绝了这次写入（{self.shown}）：另一上报同时写入了同一分支机构，"
                                  f"请重试（{str(exc.orig).splitlines()[0][:120]}）")
        except (DBAPIError, SQLAlchemyError) as exc:
            raise explain(exc, self.shown)

    def close(self) -> None:
        self.engine.dispose()

    # ---- schema ---------------------------------------------------------------------
    def _revision(self, conn: Connection) -> str | None:
        from alembic.runtime.migration import MigrationContext
        return MigrationContext.configure(conn).get_current_revision()

    def init(self) -> str:
        """Create the schema (or upgrade it) and the group-wide salt; 'created' / 'upgraded' / 'current'."""
        from alembic import command
        head, known = _revisions()
        with self._connect(write=True) as conn:
            current = self._revision(conn)
            if current is not None and current not in known:
                raise self._newer(current, head)
            if current is None and inspect(conn).has_table("complaints"):
                raise GroupStoreError(f"“{self.shown}”中已有名为 complaints 的表，但不是 complaintdesk 的集团库")
            if current != head:
                command.upgrade(_alembic_config(conn), "head")
            if conn.execute(select(meta.c.value).where(meta.c.key == "salt")).scalar() is None:
                conn.execute(meta.insert().values(key="salt", value=secrets.token_hex(16)))
        return "created" if current is None else ("upgraded" if current != head else "current")

    def _newer(self, current: str, head: str) -> GroupStoreError:
        from .. import __version__
        return GroupStoreError(f"集团数据库的结构版本（{current}）比本程序新（complaintdesk {__version__}，结构版本 "
                               f"{head}）：请先把本机的 complaintdesk 升级到与集团相同的版本，未写入任何数据")

    def _checked(self, conn: Connection) -> None:
        head, known = _revisions()
        current = self._revision(conn)
        if current is None:
            raise GroupStoreError(f"集团数据库尚未初始化（{self.shown}）：先运行 complaintdesk group init 数据库地址")
        if current not in known:
            raise self._newer(current, head)
        if current != head:
            raise GroupStoreError(f"集团数据库的结构版本（{current}）较旧："
                                  "先运行 complaintdesk group init 数据库地址 升级")

    def salt(self) -> str:
        with self._connect() as conn:
            self._checked(conn)
            return conn.execute(select(meta.c.value).where(meta.c.key == "salt")).scalar_one()

    # ---- publishing -----------------------------------------------------------------------
    def stamp(self, name: str) -> str | None:
        """The source stamp of the branch's last publication (None: never published)."""
        with self._connect() as conn:
            return conn.execute(select(branches.c.source_stamp).where(branches.c.name == name)).scalar()

    def publish(self, branch: Branch, rows: list[dict], now: str, stamp: str | None = None,
                summarise: Callable[[str, list[str]], tuple[str, str]] | None = None) -> dict[str, int]:
        """Upsert the branch's rows (dicts of the complaints columns but `branch`) by complaint number
        in one transaction; rows the store has and `rows` lack stay. Each month whose figures the
        change touches (its own rows, or the month before's) is summarised again in the same
        transaction: summarise(month, facts of it and the month before) -> (kpis, hotspots) JSON.
        Returns inserted/updated/unchanged."""
        with self._connect(write=True) as conn:
            self._checked(conn)
            _refuse_similar_name(conn, branch.name)
            row = conn.execute(select(branches).where(branches.c.name == branch.name).with_for_update()).first()
            stored = {no: (fp, received) for no, fp, received in conn.execute(
                select(complaints.c.complaint_no, complaints.c.fingerprint, complaints.c.received_at)
                .where(complaints.c.branch == branch.name))}
            _refuse_other_register(branch, row, stored, rows)
            new = [dict(r, branch=branch.name, published_at=now) for r in rows if r["complaint_no"] not in stored]
            changed = [dict(r, b_branch=branch.name, b_no=r["complaint_no"], published_at=now) for r in rows
                       if r["complaint_no"] in stored and stored[r["complaint_no"]][0] != r["fingerprint"]]
            counts = {"inserted": len(new), "updated": len(changed), "unchanged": len(rows) - len(new) - len(changed)}
            targets = (branch.register, branch.csat_target, branch.response_hours_target, branch.hotspot_threshold)
            same_branch = row is not None and (row.register, row.csat_target, row.response_hours_target,
                                               row.hotspot_threshold) == targets
            if same_branch and not new and not changed and row is not None and row.source_stamp == stamp:
                return counts  # a rerun changes nothing
            self._write_branch(conn, branch, row, now, len(stored) + len(new), stamp)
            for start in range(0, len(new), CHUNK):
                conn.execute(complaints.insert(), new[start:start + CHUNK])
            stmt = update(complaints).where(and_(complaints.c.branch == bindparam("b_branch"),
                                                 complaints.c.complaint_no == bindparam("b_no")))
            for start in range(0, len(changed), CHUNK):
                conn.execute(stmt, [{k: r[k] for k in (*UPDATABLE, "b_branch", "b_no")}
                                    for r in changed[start:start + CHUNK]])
            if new or changed:
                conn.execute(publications.insert().values(branch=branch.name, published_at=now, **counts))
            if summarise is not None:
                touched = {r["month"] for r in new + changed} | {_month(stored[r["complaint_no"]][1]) for r in changed}
                if not same_branch:  # the branch's targets changed (hotspot threshold): every month again
                    touched |= {_month(received) for _, received in stored.values()}
                self._summarise(conn, branch.name, touched - {None}, summarise, now)
            return counts

    def _summarise(self, conn: Connection, name: str, touched: set, summarise, now: str) -> None:
        """Recompute the branch's months whose figures `touched` months change: each of them and the
        month after it (whose report compares with it)."""
        from ..domain.kpis import next_month, previous_month
        months = sorted(touched | {next_month(m) for m in touched})
        held = set(conn.execute(select(complaints.c.month).where(complaints.c.branch == name).distinct()).scalars())
        for month in months:
            if month not in held and previous_month(month) not in held:
                conn.execute(branch_months.delete().where(branch_months.c.branch == name,
                                                          branch_months.c.month == month))
                continue
            facts = list(conn.execute(_facts_of(name, (month, previous_month(month)))).scalars())
            kpis, hot = summarise(month, facts)
            conn.execute(branch_months.delete().where(branch_months.c.branch == name, branch_months.c.month == month))
            conn.execute(branch_months.insert().values(branch=name, month=month, kpis=kpis, hotspots=hot,
                                                       computed_at=now))

    def _write_branch(self, conn: Connection, branch: Branch, row, now: str, count: int, stamp: str | None) -> None:
        values = {"register": branch.register, "last_published_at": now, "complaints": count, "source_stamp": stamp,
                  "csat_target": branch.csat_target, "response_hours_target": branch.response_hours_target,
                  "hotspot_threshold": branch.hotspot_threshold}
        if row is None:
            conn.execute(branches.insert().values(name=branch.name, first_published_at=now, **values))
        else:
            conn.execute(update(branches).where(branches.c.name == branch.name).values(**values))

    # ---- reading (the group's view) -------------------------------------------------------
    def branches(self) -> list[dict]:
        with self._connect() as conn:
            self._checked(conn)
            return [dict(r._mapping) for r in conn.execute(select(branches).order_by(branches.c.name))]

    def month_summaries(self, month: str) -> dict[str, tuple[str, str]]:
        """Branch -> (kpis, hotspots) JSON of `month`, as its last publication computed them."""
        with self._connect() as conn:
            return {b: (k, h) for b, k, h in conn.execute(
                select(branch_months.c.branch, branch_months.c.kpis, branch_months.c.hotspots)
                .where(branch_months.c.month == month))}

    def facts(self, branch: str, months: Iterable[str]) -> list[str]:
        """The facts (JSON texts) of the branch's complaints received in `months`, by number."""
        with self._connect() as conn:
            return list(conn.execute(_facts_of(branch, months)).scalars())

    def counted_by_month(self, months: Iterable[str]) -> dict[tuple[str, str], int]:
        """(branch, month) -> valid complaints received (the trend's count), computed in SQL."""
        with self._connect() as conn:
            result = conn.execute(select(complaints.c.branch, complaints.c.month, func.count())
                                  .where(complaints.c.counted, complaints.c.month.in_(list(months)))
                                  .group_by(complaints.c.branch, complaints.c.month))
            return {(b, m): n for b, m, n in result}

    def shared_customers(self, month: str, most: int) -> tuple[list[tuple], int]:
        """(customer key, branch, number, category, received) of the month's valid complaints from
        the `most` customers with the most complaints among those who complained to more than one
        branch that month, and how many such customers there are (grouped in SQL)."""
        c = complaints.c
        several = (select(c.customer_key, func.count().label("n"))
                   .where(c.month == month, c.counted, c.customer_key.is_not(None))
                   .group_by(c.customer_key).having(func.count(func.distinct(c.branch)) > 1))
        with self._connect() as conn:
            total = conn.execute(select(func.count()).select_from(several.subquery())).scalar_one()
            keys = [k for k, _ in conn.execute(several.order_by(func.count().desc(), c.customer_key).limit(most))]
            rows = [tuple(r) for r in conn.execute(
                select(c.customer_key, c.branch, c.complaint_no, c.category, c.received_at)
                .where(c.month == month, c.counted, c.customer_key.in_(keys))
                .order_by(c.customer_key, c.received_at))] if keys else []
        return rows, total

    def event_rows(self) -> list[tuple]:
        """(branch, event, number, received, status, category, product) of every complaint in a 群诉事件."""
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(complaints.c.branch, complaints.c.group_event, complaints.c.complaint_no,
                       complaints.c.received_at, complaints.c.status, complaints.c.category, complaints.c.product)
                .where(complaints.c.group_event.is_not(None), complaints.c.group_event != "")
                .order_by(complaints.c.branch, complaints.c.group_event, complaints.c.complaint_no))]

    def records(self, where, most: int | None = None) -> list[tuple[str, str]]:
        """(branch, record JSON) of the complaints matching `where` (a condition on the table), the
        first `most` by branch and number."""
        query = select(complaints.c.branch, complaints.c.record).where(where) \
            .order_by(complaints.c.branch, complaints.c.complaint_no)
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(query if most is None else query.limit(most))]

    def count(self, where) -> int:
        with self._connect() as conn:
            return conn.execute(select(func.count()).select_from(complaints).where(where)).scalar_one()

    def keys(self, where) -> list[tuple[str, str]]:
        """(branch, number) of the complaints matching `where`, in that order."""
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(complaints.c.branch, complaints.c.complaint_no).where(where)
                .order_by(complaints.c.branch, complaints.c.complaint_no))]


def _facts_of(branch: str, months: Iterable[str]):
    """The query of a branch's facts (JSON texts) received in `months`, by number."""
    return select(complaints.c.facts).where(complaints.c.branch == branch, complaints.c.month.in_(list(months))) \
        .order_by(complaints.c.complaint_no)


def _month(received: str | None) -> str | None:
    return received[:7] if received and len(received) >= 7 and received[4] == "-" else None


def _refuse_similar_name(conn: Connection, name: str) -> None:
    """A branch name that differs from a known one only in spaces or case is a typo, not a branch."""
    squeeze = "".join(name.split()).casefold()
    for (known,) in conn.execute(select(branches.c.name)):
        if known != name and "".join(known.split()).casefold() == squeeze:
            raise GroupStoreError(f"分支机构名称“{name}”与已有的“{known}”只差空格或大小写：请使用“{known}”，"
                                  "未上报任何数据")


def _refuse_other_register(branch: Branch, row, stored: dict[str, tuple[str, str]], rows: list[dict]) -> None:
    """The branch's name taken by another register: most numbers it shares with what the branch
    published carry another received time (registers number alike: 20261008-CS-001 everywhere)."""
    if row is None or not stored:
        return
    same = other = 0
    for r in rows:
        known = stored.get(r["complaint_no"])
        if known is not None:
            if known[1] == r["received_at"]:
                same += 1
            else:
                other += 1
    if other > same:
        raise GroupStoreError(
            f"分支机构名称“{branch.name}”已被另一登记表使用（上次由“{row.register}”上报，{other} 个相同编号的接收时间"
            f"不同）：请换一个分支机构名称（--branch），未上报任何数据")
