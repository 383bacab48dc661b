"""The responders' TOML file: defaults, enabled set, and every kind of mistake located."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.guard.respond import DEFAULT_RESPONDERS, ResponseConfigError, build_dispatcher
from rempart.guard.respond._config import enabled_responders, load_config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "guard.toml"
    p.write_text(text)
    return p


def test_full_example_loads(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[stop-process]
protect = ["backupd"]

[block-client]
never_block = ["10.0.0.5", "192.168.10.0/24"]
ports = [445]
dry_run = true

[hook]
command = ["/usr/local/bin/page-oncall", "--urgent"]
timeout = 3

[alert]
syslog_address = "/dev/log"
email_to = ["dsi@example.org"]
webhook_url = "http://127.0.0.1:8000/api/incidents/1/alerts"
""",
        )
    )
    assert cfg["block-client"]["never_block"] == ["10.0.0.5", "192.168.10.0/24"]
    assert cfg["hook"]["timeout"] == 3  # an integer is a fine number of seconds
    assert enabled_responders([], cfg) == [
        "stop-process",
        "block-client",
        "hook",
        "alert",
        "record",
    ]


def test_enabled_set() -> None:
    assert enabled_responders([], {}) == ["record"]
    assert enabled_responders(["default"], {}) == list(DEFAULT_RESPONDERS)
    assert enabled_responders(["hook", "record", "hook"], {}) == ["hook", "record"]
    assert enabled_responders(["hook"], {}) == ["hook", "record"]  # always recorded
    assert enabled_responders(["hook"], {"record": {"enabled": False}}) == ["hook"]
    assert enabled_responders(["default"], {"alert": {"enabled": False}}) == [
        n for n in DEFAULT_RESPONDERS if n != "alert"
    ]
    with pytest.raises(ResponseConfigError, match="unknown responder 'stop'"):
        enabled_responders(["stop"], {})


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("[block-client]\nnever_block = [\n", "not valid TOML", 2),
        ("[hook]\ncommand = 'x'\ntimeout 3\n[alert]\n", "not valid TOML", 3),
        (
            '[block-client]\nports = [445]\nnever_blok = ["1.2.3.4"]\n',
            "unknown option 'never_blok'",
            3,
        ),
        ("\n\n[stop-proces]\n", "unknown responder 'stop-proces'", 3),
        ('[hook]\ncommand = "x"\ntimeout = "ten"\n', "timeout must be a number", 3),
        ("[block-client]\ndry_run = 1\n", "dry_run must be true or false", 2),
        ('[block-client]\nports = ["445"]\n', "ports must be a list of integers", 2),
        ("[alert]\nsmtp_port = true\n", "smtp_port must be an integer", 2),
        ('record = "yes"\n', "must be a table", 1),
    ],
)
def test_damaged_config_names_file_key_and_line(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ResponseConfigError, match=message) as err:
        load_config(path)
    assert err.value.path == path
    assert err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}")


def test_binary_garbage_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "guard.toml"
    path.write_bytes(b"\xff\xfe\x00[hook]\x00")
    with pytest.raises(ResponseConfigError, match="cannot read"):
        load_config(path)
    with pytest.raises(ResponseConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_bad_values_refused_at_build_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    cases = {
        "[hook]\n": "the hook needs a command",
        '[alert]\nwebhook_url = "ftp://x"\n': "webhook_url must start with http",
        '[alert]\nsyslog_address = "nowhere"\n': "syslog_address must be",
        '[block-client]\nnever_block = ["10.0.0.300"]\n': "not an address or network",
        '[block-client]\naction = "explode"\n': "action must be 'reject' or 'drop'",
    }
    for text, message in cases.items():
        with pytest.raises(Exception, match=message):
            build_dispatcher(write(tmp_path, text), [], store_url=url, incident=None, dry_run=True)


def test_never_block_networks_accepted(tmp_path: Path) -> None:
    text = '[block-client]\nnever_block = ["192.0.2.0/24", "2001:db8::/32", "10.0.0.5"]\n'
    url = f"sqlite:///{tmp_path / 's.db'}"
    build_dispatcher(write(tmp_path, text), [], store_url=url, incident=None, dry_run=True).close()


def test_respond_alone_serves_the_common_case(tmp_path: Path) -> None:
    d = build_dispatcher(
        None, ["default"], store_url=f"sqlite:///{tmp_path / 's.db'}", incident=None, dry_run=True
    )
    try:
        # blocking first, then the record, then the alerts
        assert d.names == ["stop-process", "block-client", "close-session", "record", "alert"]
    finally:
        d.close()
