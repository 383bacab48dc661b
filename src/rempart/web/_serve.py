"""Running the workspace with uvicorn: one process, or several workers sharing one port."""

from __future__ import annotations

import os
import socket
from typing import Any

from fastapi import FastAPI

from rempart.errors import UsageError
from rempart.store import open_store
from rempart.web._app import create_app
from rempart.web._session import SECRET_NAME
from rempart.workspace import auth, transaction

#: How worker processes learn the store and the scheme (uvicorn imports the factory by name).
ENV_DB = "REMPART_DB"
ENV_HTTPS = "REMPART_WEB_HTTPS"


def from_environment() -> FastAPI:
    """The app of a worker process (`uvicorn --factory rempart.web._serve:from_environment`)."""
    return create_app(os.environ[ENV_DB], https=os.environ.get(ENV_HTTPS) == "1")


def check_port(host: str, port: int) -> None:
    """Fail early, with a one-line message, when the address cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                hint="choose another --port or --host",
            ) from exc


def serve(
    url: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    https: bool = False,
    cert: str | None = None,
    key: str | None = None,
    access_log: bool = False,
) -> None:
    """Migrate the store, make its secrets, then serve until interrupted."""
    import uvicorn  # noqa: PLC0415  # the web server only loads for this command

    check_port(host, port)
    # Once, before any worker: workers must not race to migrate or to create the secret.
    with transaction(open_store(url)) as s:
        auth.get_secret(s, SECRET_NAME)
    https = https or bool(cert)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "ssl_certfile": cert,
        "ssl_keyfile": key,
        "log_level": "info",
        "server_header": False,
    }
    if workers > 1:
        os.environ[ENV_DB], os.environ[ENV_HTTPS] = url, "1" if https else "0"
        uvicorn.run("rempart.web._serve:from_environment", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(url, https=https), **options)
