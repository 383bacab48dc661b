"""Responders of the guard: what is done about an alarm, configured from a TOML file.

    dispatcher = build_dispatcher(Path("guard.toml"), [], store_url=url, incident="i1",
                                  dry_run=False)
    responses = dispatcher.handle(alarm)
    dispatcher.close()

Built-in responders (each registered in `RESPONDERS` like an extension would be): record,
stop-process, block-client, close-session, hook, alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rempart.guard.alarm import Response

# Imported for their registration in RESPONDERS, in the order a default run uses them.
from rempart.guard.respond import alert, clients, hook, process, record  # noqa: F401  # isort: skip
from rempart.guard.respond._base import RESPONDERS, Context, ResponderSpec
from rempart.guard.respond._config import (
    DEFAULT_RESPONDERS,
    enabled_responders,
    load_config,
    settings_for,
)
from rempart.guard.respond._dispatch import Dispatcher, Enabled
from rempart.guard.respond._errors import ResponseConfigError

__all__ = [
    "DEFAULT_RESPONDERS",
    "RESPONDERS",
    "Dispatcher",
    "ResponderSpec",
    "ResponseConfigError",
    "build_dispatcher",
]


def build_dispatcher(
    config_path: Path | None,
    respond: Sequence[str],
    *,
    store_url: str,
    incident: str | None,
    dry_run: bool,
    notify_wait: float = 1.0,
    on_response: Callable[[Response], None] | None = None,
) -> Dispatcher:
    """The responders asked for, configured and ready.

    Args:
        config_path: the TOML file (one table per responder), or None for the defaults.
        respond: responder names to enable (`default` = DEFAULT_RESPONDERS); empty: the
            config file's tables, or `record` alone without a file.
        dry_run: every responder only says what it would do (the store is still written).
        notify_wait: seconds `handle` waits for alerts and hooks before returning.
        on_response: told of alert/hook responses that arrive after `handle` returned.

    Raises:
        ResponseConfigError: bad file, unknown responder or option, wrong type.
    """
    config = load_config(config_path) if config_path is not None else {}
    context = Context(store_url=store_url, incident=incident)
    enabled = []
    for name in enabled_responders(respond, config):
        spec = RESPONDERS[name]
        options = settings_for(spec, config.get(name, {}))
        # --dry-run covers every acting responder; records are still written, marked dry.
        dry = bool(options["dry_run"]) or (dry_run and spec.phase != "record")
        enabled.append(Enabled(spec, spec.factory(options, context), dry))
    return Dispatcher(enabled, notify_wait=notify_wait, on_response=on_response)
