"""Email through an SMTP server (the standard library's smtplib), plain text in UTF-8.

STARTTLS when TONGBAN_SMTP_STARTTLS is set, and a login when TONGBAN_SMTP_USER is. A refused recipient
or a 5xx answer is permanent; a 4xx answer or a lost connection is tried again later.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from config.settings import Settings
from tracking.messages import Outgoing, SendError, Transport


def email_of(settings: Settings, out: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = out.to
    mail["Subject"] = out.subject
    domain = settings.smtp_from.rsplit("@", 1)[-1].strip("> ") or "localhost"
    mail["Message-ID"] = make_msgid(out.reference.replace(":", "."), domain=domain)
    mail.set_content(out.text)
    return mail


def smtp_transport(settings: Settings) -> Transport:
    def send(out: Outgoing) -> str:
        mail = email_of(settings, out)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.message_timeout_seconds) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            raise SendError(f"收件地址被拒绝：{e.recipients}", permanent=True) from None
        except smtplib.SMTPResponseException as e:
            raise SendError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", permanent=e.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as e:
            raise SendError(f"{type(e).__name__}: {e}") from None
        return mail["Message-ID"]

    return send
