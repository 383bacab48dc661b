"""The contain commands' handling of user mistakes (exit 2, one clear line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main


def test_inventory_import_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = tmp_path / "inv.csv"
    inv.write_text("name,address,role,groups,ssh,management\nws1,10.1.0.10,ws,a;b,,10.1.0.5\n")
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    assert main(["contain", "inventory", "import", str(inv), "--incident", "i1", *db]) == 0
    assert main(["contain", "inventory", "show", "--incident", "i1", *db]) == 0
    assert "ws1\t10.1.0.10\tws\ta;b\tlocal\t10.1.0.5/32" in capsys.readouterr().out


def test_mistakes_get_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,address\nws1,300.1.1.1\n")
    assert main(["contain", "inventory", "import", str(bad), "--incident", "i1", *db]) == 2
    assert "bad.csv:2: bad address '300.1.1.1'" in capsys.readouterr().err
    assert main(["contain", "plan", "--isolate", "ws1", *db]) == 2  # no --incident
    assert "--incident" in capsys.readouterr().err
    assert main(["contain", "plan", "--isolate", "ws1", "--incident", "nope", *db]) == 2
    assert "unknown incident 'nope'" in capsys.readouterr().err
    assert main(["contain", "plan", "--keep", "x", "--incident", "nope", *db]) == 2
    assert "NAME=CIDR:PORT" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    assert main(["contain", "inventory", "import", str(missing), "--incident", "i", *db]) == 2
    assert "cannot read the inventory" in capsys.readouterr().err


def test_apply_shows_a_rich_progress_display_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host by host, with a bar, on a terminal; the outcome lines follow (exit 1: the Windows
    host cannot be changed without WinRM credentials, and says so)."""
    inv = tmp_path / "inv.csv"
    inv.write_text("name,address,role,management\npc1,127.0.0.3,windows,10.1.0.5\n")
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}", "--incident", "i1"]
    journal = ["--journal", str(tmp_path / "j")]
    assert main(["contain", "inventory", "import", str(inv), *db]) == 0
    capsys.readouterr()
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: "this is a terminal"
    assert main(["contain", "apply", "--isolate", "pc1", "--yes", *db, *journal]) == 1
    out, err = capsys.readouterr()
    assert "isolate-windows:pc1" in err and "1/1" in err  # the progress display
    assert "no WinRM credentials given" in out
    monkeypatch.delenv("FORCE_COLOR")
    assert main(["contain", "apply", "--isolate", "pc1", "--yes", "--json", *db, *journal]) == 1
    out, err = capsys.readouterr()
    assert err == "" and out.lstrip().startswith("[")  # --json: quiet, JSON only


def test_a_missing_or_damaged_ssh_key_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = tmp_path / "inv.csv"
    inv.write_text("name,address,ssh\nws1,127.0.0.1,root@127.0.0.1:9\n")
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}", "--incident", "i1"]
    assert main(["contain", "inventory", "import", str(inv), *db]) == 0
    db += ["--timeout", "2"]
    capsys.readouterr()
    missing = tmp_path / "nokey"
    assert main(["contain", "plan", "--isolate", "ws1", "--ssh-key", str(missing), *db]) == 2
    err = capsys.readouterr().err
    assert f"--ssh-key {missing}: no such file" in err and "Traceback" not in err
    damaged = tmp_path / "damaged"
    damaged.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    assert main(["contain", "plan", "--isolate", "ws1", "--ssh-key", str(damaged), *db]) == 2
    err = capsys.readouterr().err
    assert "cannot use the SSH key" in err and "Traceback" not in err


CHANGE = "--incident --isolate --cut-internet --keep --internal --probe-from --probe-blocked "
CHANGE += "--disable-account --block-smb-client --at --smbconf --remote-python"
ACCESS = "--ldap-url --ldap-bind-dn --ldap-password --ldap-kind --ldap-ca --winrm-user "
ACCESS += "--winrm-password --ssh-key --known-hosts --timeout --netns"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("plan", f"{CHANGE} {ACCESS} --db --json"),
        ("apply", f"{CHANGE} {ACCESS} --confirm-within --journal --yes --db --json"),
        (
            "undo",
            f"targets --incident {ACCESS} --remote-python --journal --from-journal --db --json",
        ),
    ],
)
def test_shared_option_groups_keep_their_place_in_each_command(command: str, expected: str) -> None:
    """Options declared once for several commands show where each command names the group."""
    import typer

    import rempart.cli.contain  # noqa: F401  # registers the contain commands
    from rempart.cli import app

    group = typer.main.get_command(app).commands["contain"]  # type: ignore[attr-defined]
    params = group.commands[command].params
    assert " ".join(p.opts[0] if p.opts[0].startswith("-") else p.name for p in params) == expected
    assert group.commands[command].help  # the command's own docstring, through the grouping
