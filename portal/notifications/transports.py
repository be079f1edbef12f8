"""Where outbox emails go: an SMTP server, or (development) the Dev mailbox page."""
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate


class TransportError(Exception):
    """The email was not accepted; it stays in the outbox and is retried."""


def build_email(outbox_email, sender):
    email = EmailMessage()
    email["From"] = sender
    email["To"] = outbox_email.to_address
    email["Subject"] = outbox_email.subject
    email["Message-ID"] = outbox_email.message_id_header
    email["Date"] = formatdate(outbox_email.created_at.timestamp(), usegmt=True)
    email.set_content(outbox_email.text_body)
    if outbox_email.html_body:
        email.add_alternative(outbox_email.html_body, subtype="html")
    return email


class SmtpTransport:
    name = "smtp"

    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.use_tls = config["MAIL_USE_TLS"]
        self.username = config["MAIL_USERNAME"]
        self.password = config["MAIL_PASSWORD"]
        self.sender = config["MAIL_DEFAULT_SENDER"]
        self.timeout = config["MAIL_TIMEOUT_SECONDS"]

    def deliver(self, outbox_email, before_final_step):
        """Send one email; `before_final_step()` runs just before the message data.

        Everything up to the envelope can fail and be retried safely; once the
        data is on its way the server may accept it at any moment.
        """
        email = build_email(outbox_email, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.ehlo_or_helo_if_needed()
                code, reply = smtp.mail(self.sender)
                if code != 250:
                    raise TransportError(f"MAIL FROM refused: {code} {reply!r}")
                code, reply = smtp.rcpt(outbox_email.to_address)
                if code not in (250, 251):
                    raise TransportError(f"RCPT TO refused: {code} {reply!r}")
                before_final_step()
                # SMTP wants CRLF line ends; smtplib.data() does not convert bytes.
                code, reply = smtp.data(email.as_bytes(policy=policy.SMTP))
                if code != 250:
                    raise TransportError(f"DATA refused: {code} {reply!r}")
        except (smtplib.SMTPException, OSError) as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error


class DevMailboxTransport:
    """Development with no MAIL_SERVER: the Dev mailbox page shows the outbox itself."""

    name = "dev mailbox"
    keeps_content = True  # the outbox is the mailbox: its emails stay readable there

    def deliver(self, outbox_email, before_final_step):
        before_final_step()


def transport_for(config):
    if config.get("MAIL_SERVER"):
        return SmtpTransport(config)
    if config.get("DEV_MAILBOX"):
        return DevMailboxTransport()
    raise RuntimeError("MAIL_SERVER is not set: the outbox worker has nowhere to send email. "
                       "Set MAIL_SERVER (and MAIL_PORT, MAIL_USERNAME, ...) in the environment.")
