"""Adapter — sending mail over SMTP (smtplib), configured from 设置 or environment variables.

Environment variables win over 设置: COMPLAINTDESK_SMTP_HOST, _PORT, _USER, _PASSWORD,
_FROM, _STARTTLS (1/true). The password is only ever read from the environment.
"""
from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from ..domain.parsing import is_yes
from ..errors import MailError


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, body: str, attachments: list[Path] = ()) -> None: ...


@dataclass
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = ""
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings) -> "SmtpConfig | None":
        env = os.environ
        host = env.get("COMPLAINTDESK_SMTP_HOST") or str(settings.param("smtp_host") or "")
        if not host:
            return None
        port = int(env.get("COMPLAINTDESK_SMTP_PORT") or settings.param("smtp_port") or 25)
        starttls_env = env.get("COMPLAINTDESK_SMTP_STARTTLS")
        starttls = is_yes(starttls_env) if starttls_env else \
            bool(settings.param("smtp_starttls"))
        user = env.get("COMPLAINTDESK_SMTP_USER") or str(settings.param("smtp_user") or "")
        sender = env.get("COMPLAINTDESK_SMTP_FROM") or str(settings.param("smtp_from") or "") or user \
            or "complaintdesk@localhost"
        return cls(host, port, user, env.get("COMPLAINTDESK_SMTP_PASSWORD", ""), sender, starttls)


class SmtpMailer:
    def __init__(self, config: SmtpConfig):
        self.config = config

    def send(self, to: list[str], subject: str, body: str, attachments: list[Path] = ()) -> None:
        try:
            msg = self._message(to, subject, body, attachments)
        except (ValueError, TypeError, OSError) as exc:  # an address or name that cannot be a header
            raise MailError(f"邮件无法生成（收件人 {', '.join(map(repr, to))[:80]}）：{exc}") from exc
        try:
            with smtplib.SMTP(self.config.host, self.config.port, timeout=30) as smtp:
                if self.config.starttls:
                    smtp.starttls()
                if self.config.user and self.config.password:
                    smtp.login(self.config.user, self.config.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"邮件发送失败（{self.config.host}:{self.config.port}）：{exc}") from exc

    def _message(self, to: list[str], subject: str, body: str, attachments) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="complaintdesk")
        msg.set_content(body, charset="utf-8")
        for path in attachments:
            msg.add_attachment(Path(path).read_bytes(), maintype="application",
                               subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               filename=Path(path).name)
        return msg


def mailer_for(settings) -> Mailer | None:
    config = SmtpConfig.from_settings(settings)
    return SmtpMailer(config) if config else None
