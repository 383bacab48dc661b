"""alert: a real syslog datagram socket, a real SMTP server (aiosmtpd), a real HTTP server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rempart.guard.alarm import Alarm
from rempart.guard.respond import RESPONDERS
from rempart.guard.respond._config import settings_for
from rempart.guard.respond.alert import Alert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def syslog(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    try:
        yield path, sock
    finally:
        sock.close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], dict[str, float]]]:
    posts: list[dict[str, Any]] = []
    behaviour = {"delay": 0.0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            time.sleep(behaviour["delay"])
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "alert_token": self.headers.get("X-Rempart-Alert-Token"),
                    "json": json.loads(body),
                }
            )
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/incidents/7/alerts"
        yield url, posts, behaviour
    finally:
        server.shutdown()
        server.server_close()


def alert(**given: object) -> Alert:
    return Alert(settings_for(RESPONDERS["alert"], {"timeout": 2.0, **given}))


def test_all_three_channels(
    syslog: tuple[str, socket.socket],
    smtp: tuple[int, list[Any]],
    webhook: tuple[str, list[dict[str, Any]], dict[str, float]],
    alarm_for: Callable[..., Alarm],
) -> None:
    (log_path, log_sock), (smtp_port, mails), (url, posts, _) = syslog, smtp, webhook
    responder = alert(
        syslog_address=log_path,
        syslog_facility="local5",
        email_to=["dsi@mairie.example"],
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        webhook_url=url,
        webhook_token="s3cret",
    )
    alarm = alarm_for(address="10.0.0.8", user="bob")
    resp = responder.respond(alarm, dry_run=False)
    assert resp.ok, resp.detail
    assert set(resp.extra) == {"syslog", "email", "webhook"}

    line = log_sock.recv(4096).decode()
    assert line.startswith("<170>rempart-guard: ")  # local5 (21) * 8 + critical (2)
    assert "smb-client:10.0.0.8" in line

    assert len(mails) == 1 and mails[0].rcpt_tos == ["dsi@mairie.example"]
    body = mails[0].content.decode()
    assert "Subject: rempart guard: encryption in progress by smb-client:10.0.0.8" in body
    assert "- decoy written: .aaa-rempart.docx" in body

    assert posts[0]["path"] == "/api/incidents/7/alerts"
    assert posts[0]["auth"] == "Bearer s3cret"
    # rempart serve's alert endpoint: its own header, and the fields its logbook keeps
    assert posts[0]["alert_token"] == "s3cret" and posts[0]["json"]["source"] == "guard"
    assert posts[0]["json"]["summary"].startswith("rempart guard: encryption in progress")
    assert "- decoy written: .aaa-rempart.docx" in posts[0]["json"]["detail"]
    assert posts[0]["json"]["alarm"]["actor"]["key"] == "smb-client:10.0.0.8"
    assert "HTTP 201" in resp.extra["webhook"]

    again = responder.respond(alarm, dry_run=False)
    assert again.already_done and len(mails) == 1 and len(posts) == 1


def test_one_channel_failing_does_not_stop_the_others(
    syslog: tuple[str, socket.socket],
    webhook: tuple[str, list[dict[str, Any]], dict[str, float]],
    alarm_for: Callable[..., Alarm],
) -> None:
    (log_path, log_sock), (url, _posts, behaviour) = syslog, webhook
    behaviour["delay"] = 5.0  # a webhook that does not answer in time
    responder = alert(
        syslog_address=log_path,
        email_to=["dsi@mairie.example"],
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nobody listens
        webhook_url=url,
        timeout=0.5,
    )
    started = time.monotonic()
    resp = responder.respond(alarm_for(pid=4321), dry_run=False)
    assert time.monotonic() - started < 2.5  # channels side by side, each bounded
    assert not resp.ok
    assert resp.extra["syslog"].startswith("sent to")
    assert resp.extra["email"].startswith("failed: ConnectionRefusedError")
    assert resp.extra["webhook"].startswith("failed:")
    assert log_sock.recv(4096)
    # failed alerts are tried again on the next alarm
    assert not responder.respond(alarm_for(pid=4321), dry_run=False).already_done


def test_missing_syslog_socket_and_dry_run(tmp_path: Path, alarm_for: Callable[..., Alarm]) -> None:
    responder = alert(syslog_address=str(tmp_path / "absent.sock"))
    resp = responder.respond(alarm_for(pid=1), dry_run=False)
    assert not resp.ok and resp.extra["syslog"].startswith("failed:")
    dry = alert(email_to=["a@b.example"], webhook_url="http://127.0.0.1:9/x")
    resp = dry.respond(alarm_for(pid=1), dry_run=True)
    assert resp.ok and resp.detail == (
        "would alert through syslog (/dev/log), e-mail to a@b.example via localhost, "
        "webhook http://127.0.0.1:9/x"
    )
    assert not alert(syslog=False).respond(alarm_for(pid=1), dry_run=False).ok


def test_syslog_that_stops_reading_does_not_hang(
    syslog: tuple[str, socket.socket], alarm_for: Callable[..., Alarm]
) -> None:
    log_path, _unread = syslog  # nobody reads: the socket fills after a few datagrams
    responder = alert(syslog_address=log_path, timeout=0.3)
    outcomes = []
    for i in range(20):
        started = time.monotonic()
        outcomes.append(responder.respond(alarm_for(pid=1000 + i), dry_run=False))
        assert time.monotonic() - started < 1.5  # a send and its one retry, each bounded
        if not outcomes[-1].ok:
            break
    assert outcomes[0].ok
    assert not outcomes[-1].ok and outcomes[-1].extra["syslog"].startswith("failed:")


def test_the_webhook_speaks_the_workspace_header() -> None:
    from rempart.guard.respond.alert import ALERT_TOKEN_HEADER
    from rempart.workspace.alerts import HEADER

    assert ALERT_TOKEN_HEADER == HEADER
