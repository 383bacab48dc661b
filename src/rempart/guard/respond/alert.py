"""The `alert` responder: syslog, e-mail through a local SMTP server, and a webhook.

Channels run side by side, each with its timeout; one failing does not stop the others, and
each one's outcome is kept in the response (`extra[channel]`). The webhook posts JSON, e.g. to
the workspace's `/api/incidents/<id>/alerts` once `rempart serve` receives it.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import smtplib
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any

from rempart.guard.alarm import Alarm, Response
from rempart.guard.respond._base import (
    RESPONDERS,
    Context,
    Once,
    Option,
    ResponderSpec,
    alarm_json,
    response,
    summary,
)
from rempart.guard.respond._errors import ResponseConfigError

NAME = "alert"


class _Handler(logging.handlers.SysLogHandler):
    """Keeps the error of an emit instead of printing it on stderr."""

    error: BaseException | None = None

    def __init__(self, *, send_timeout: float, **kw: Any) -> None:
        self.send_timeout = send_timeout  # read by the connect that the base __init__ runs
        super().__init__(**kw)

    def _connect_unixsocket(self, address: Any) -> None:
        # emit() reconnects after a failed send and sends again: that socket needs the
        # timeout too, or a syslog daemon that stopped reading blocks the alert for ever.
        super()._connect_unixsocket(address)  # type: ignore[misc]  # private, not in typeshed
        sock = getattr(self, "socket", None)  # typeshed does not declare it
        if isinstance(sock, socket.socket):
            sock.settimeout(self.send_timeout)

    def handleError(self, record: logging.LogRecord) -> None:  # logging's name
        import sys  # noqa: PLC0415  # only on the failure path

        self.error = sys.exc_info()[1]


def _syslog_address(text: str) -> str | tuple[str, int]:
    """'/dev/log' (a local socket) or 'host:port' (UDP)."""
    if text.startswith("/"):
        return text
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ResponseConfigError(
            f"syslog_address must be a socket path or host:port, not {text!r}",
            key="alert.syslog_address",
        )
    return host.strip("[]"), int(port)


class Alert:
    """Tell people: the local syslog, an e-mail, a webhook; once per actor."""

    name = NAME

    def __init__(self, options: Mapping[str, Any], context: Context | None = None) -> None:
        self.o = dict(options)
        self.timeout = float(options["timeout"])
        self.channels: dict[str, Callable[[Alarm], str]] = {}
        if options["syslog"]:
            self.syslog_address = _syslog_address(str(options["syslog_address"]))
            self.channels["syslog"] = self._syslog
        if options["email_to"]:
            self.channels["email"] = self._email
        if options["webhook_url"]:
            url = str(options["webhook_url"])
            if not url.startswith(("http://", "https://")):
                raise ResponseConfigError(
                    f"webhook_url must start with http:// or https://, not {url!r}",
                    key="alert.webhook_url",
                )
            self.channels["webhook"] = self._webhook
        self._once = Once()

    def respond(self, alarm: Alarm, *, dry_run: bool) -> Response:
        key = alarm.actor.key
        if not self.channels:
            return response(NAME, alarm, ok=False, dry_run=dry_run, detail="no channel configured")
        if (first := self._once.claim(key)) is not None:
            return response(NAME, alarm, ok=True, dry_run=dry_run, detail=first, already_done=True)
        if dry_run:
            detail = "would alert through " + ", ".join(self._describe())
            self._once.settle(key, detail, keep=False)
            return response(NAME, alarm, ok=True, dry_run=True, detail=detail)
        outcome = self._send_all(alarm)
        ok = all(not v.startswith("failed") for v in outcome.values())
        detail = "; ".join(f"{ch}: {v}" for ch, v in outcome.items())
        self._once.settle(key, detail, keep=ok)
        return response(NAME, alarm, ok=ok, dry_run=False, detail=detail, extra=outcome)

    def _describe(self) -> list[str]:
        out = []
        if "syslog" in self.channels:
            out.append(f"syslog ({self.o['syslog_address']})")
        if "email" in self.channels:
            out.append(f"e-mail to {', '.join(self.o['email_to'])} via {self.o['smtp_host']}")
        if "webhook" in self.channels:
            out.append(f"webhook {self.o['webhook_url']}")
        return out

    def _send_all(self, alarm: Alarm) -> dict[str, str]:
        outcome: dict[str, str] = {}

        def run(channel: str, send: Callable[[Alarm], str]) -> None:
            try:
                outcome[channel] = send(alarm)
            except (OSError, smtplib.SMTPException, urllib.error.URLError, ValueError) as exc:
                outcome[channel] = f"failed: {type(exc).__name__}: {exc}"

        threads = [
            threading.Thread(target=run, args=item, name=f"alert-{item[0]}", daemon=True)
            for item in self.channels.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.timeout + 1)
        for channel in self.channels:  # a channel stuck past its own timeout
            outcome.setdefault(channel, f"failed: no answer within {self.timeout:g} s")
        return {ch: outcome[ch] for ch in self.channels}

    def _syslog(self, alarm: Alarm) -> str:
        where = self.o["syslog_address"]
        try:
            handler = _Handler(
                send_timeout=self.timeout,
                address=self.syslog_address,
                facility=str(self.o["syslog_facility"]),
                socktype=socket.SOCK_DGRAM,
            )
        except OSError as exc:  # no syslog daemon listening there
            raise OSError(f"{where}: {exc.strerror or exc}") from exc
        try:
            handler.ident = "rempart-guard: "
            record = logging.LogRecord(
                "rempart.guard", logging.CRITICAL, "", 0, summary(alarm), None, None
            )
            handler.emit(record)
        finally:
            handler.close()
        if handler.error is not None:
            raise OSError(f"{where}: {handler.error}")
        return f"sent to {where}"

    def _email(self, alarm: Alarm) -> str:
        msg = EmailMessage()
        msg["Subject"] = summary(alarm)[:200]
        msg["From"] = str(self.o["email_from"])
        msg["To"] = ", ".join(self.o["email_to"])
        lines = [summary(alarm), "", *_explained(alarm)]
        lines += ["", json.dumps(alarm_json(alarm), indent=2)]
        msg.set_content("\n".join(lines))
        host, port = str(self.o["smtp_host"]), int(self.o["smtp_port"])
        with smtplib.SMTP(host, port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)
        return f"mailed to {', '.join(self.o['email_to'])} via {host}:{port}"

    def _webhook(self, alarm: Alarm) -> str:
        url = str(self.o["webhook_url"])
        # `summary`, `detail` and `source` are what the workspace's alert endpoint keeps in the
        # incident's logbook; `alarm` is the whole alarm for other receivers.
        detail = "\n".join(_explained(alarm))
        body = json.dumps(
            {
                "kind": "guard-alarm",
                "source": "guard",
                "summary": summary(alarm)[:_LONG],
                "detail": detail[:_LONG],
                "alarm": alarm_json(alarm),
            }
        )
        headers = {"Content-Type": "application/json"}
        if self.o["webhook_token"]:
            token = str(self.o["webhook_token"])
            # the workspace reads its alert token from its own header; other receivers
            # (chat and ticketing webhooks) usually from a bearer token
            headers["Authorization"] = f"Bearer {token}"
            headers[ALERT_TOKEN_HEADER] = token
        req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return f"posted to {url}: HTTP {resp.status}"


#: the header `rempart serve` reads an incident's alert token from (workspace.alerts.HEADER,
#: not imported: the guard does not load the workspace)
ALERT_TOKEN_HEADER = "X-Rempart-Alert-Token"
_LONG = 20_000  # the workspace keeps at most this many characters of a summary or detail


def _explained(alarm: Alarm) -> list[str]:
    """The alarm's reasons and files, one per line, for a person reading an e-mail or log."""
    lines = ["Reasons:", *(f"- {r}" for r in alarm.reasons)]
    if alarm.paths:
        lines += ["", "Files:", *(f"- {p}" for p in alarm.paths[:50])]
    return lines


RESPONDERS.add(
    NAME,
    ResponderSpec(
        name=NAME,
        phase="notify",
        help="Alert through syslog, e-mail (local SMTP server) and a webhook.",
        options=(
            Option("syslog", bool, True, "Log the alarm to syslog."),
            Option("syslog_address", str, "/dev/log", "Syslog socket path, or host:port (UDP)."),
            Option("syslog_facility", str, "daemon", "Syslog facility."),
            Option("email_to", list, [], "Recipients; empty: no e-mail.", item=str),
            Option("email_from", str, "rempart-guard@localhost", "Sender address."),
            Option("smtp_host", str, "localhost", "SMTP server (no TLS, no login: a local relay)."),
            Option("smtp_port", int, 25, "SMTP port."),
            Option("webhook_url", str, "", "URL to POST the alarm to as JSON; empty: none."),
            Option(
                "webhook_token",
                str,
                "",
                "Token sent with the webhook, if any (as a bearer token and as rempart serve's"
                " X-Rempart-Alert-Token: an incident's alert token).",
            ),
            Option("timeout", float, 5.0, "Seconds each channel may take."),
        ),
        factory=Alert,
    ),
)
