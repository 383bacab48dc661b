"""The contain commands' handling of user mistakes (exit 2, one clear line)."""

from __future__ import annotations

import json
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


HOW_TO_GIVE_IT = "(--ldap-password, or the environment variable REMPART_LDAP_PASSWORD)"


def test_disabling_an_account_without_a_password_says_how_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message names the option and the environment variable the command really reads,
    and only what is missing; nothing is sent to the directory without a password."""
    monkeypatch.delenv("REMPART_LDAP_PASSWORD", raising=False)
    inv = tmp_path / "inv.csv"
    inv.write_text("name,address\nws1,10.1.0.10\n")
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}", "--incident", "i1"]
    assert main(["contain", "inventory", "import", str(inv), *db]) == 0
    capsys.readouterr()
    plan = ["contain", "plan", "--disable-account", "uid=alice,dc=example,dc=test", *db]
    assert main(plan) == 2
    err = capsys.readouterr().err
    assert (
        "error: disabling an account needs --ldap-url, --ldap-bind-dn and a password "
        f"{HOW_TO_GIVE_IT}" in err
    )
    # the URL and the account given, not the password: that alone is named, before any bind
    # (port 9 of loopback: nobody answers there, and nothing is tried)
    ldap = ["--ldap-url", "ldap://127.0.0.1:9", "--ldap-bind-dn", "cn=admin,dc=example,dc=test"]
    assert main([*plan, *ldap, "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert f"error: disabling an account needs a password {HOW_TO_GIVE_IT}" in err
    assert "Traceback" not in err
    # given through the environment variable the message names, the password is used: the
    # next step is the bind (refused here: nothing listens there)
    monkeypatch.setenv("REMPART_LDAP_PASSWORD", "secret")
    assert main([*plan, *ldap, "--timeout", "2"]) == 2
    assert "cannot bind as cn=admin,dc=example,dc=test" in capsys.readouterr().err


def test_inventory_show_says_how_each_host_is_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This machine (no ssh), SSH, or WinRM for role windows (isolated through its firewall
    over WinRM, whatever the ssh column says)."""
    inv = tmp_path / "inv.csv"
    inv.write_text(
        "name,address,role,groups,ssh,management\n"
        "fs1,10.1.0.20,fileserver,,,\n"
        "ws1,10.1.0.10,workstation,mairie,root@10.1.0.10,10.1.0.5\n"
        "pc1,10.1.0.30,Windows,mairie,,10.1.0.5\n"
    )
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}", "--incident", "i1"]
    assert main(["contain", "inventory", "import", str(inv), *db]) == 0
    capsys.readouterr()
    assert main(["contain", "inventory", "show", *db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "fs1\t10.1.0.20\tfileserver\t\tlocal\t",
        "ws1\t10.1.0.10\tworkstation\tmairie\tssh root@10.1.0.10:22\t10.1.0.5/32",
        "pc1\t10.1.0.30\tWindows\tmairie\twinrm\t10.1.0.5/32",
    ]
    assert main(["contain", "inventory", "show", "--json", *db]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["reached_by"] for r in rows] == ["local", "ssh root@10.1.0.10:22", "winrm"]
    assert [r["ssh"] for r in rows] == ["", "root@10.1.0.10:22", ""]  # as before


def test_undo_from_the_journal_reaches_hosts_as_plan_and_apply_do(tmp_path: Path) -> None:
    """Every way in given to undo --from-journal is used (the store's context and the
    journal's one are built alike): the remote Python and the WinRM account too."""
    from rempart.cli._contain_options import AccessOptions, make_context, offline_context

    access = AccessOptions(
        ldap_url=None,
        ldap_bind_dn=None,
        ldap_password=None,
        ldap_kind="openldap",
        ldap_ca=None,
        winrm_user="adm",
        winrm_password="pw",
        ssh_key=[],
        known_hosts=tmp_path / "known_hosts",
        timeout=7.0,
        netns=None,
    )
    offline = offline_context("i1", access, remote_python="/opt/rempart/bin/python")
    assert offline.remote_python == "/opt/rempart/bin/python"
    assert offline.winrm == ("adm", "pw")
    inv = tmp_path / "inv.csv"
    inv.write_text("name,address\nws1,10.1.0.10\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["contain", "inventory", "import", str(inv), "--incident", "i1", "--db", db]) == 0
    _, online = make_context("i1", access, db, remote_python="/opt/rempart/bin/python")
    same = ("remote_python", "winrm", "known_hosts", "timeout", "ldap", "incident_key", "netns")
    assert {k: getattr(offline, k) for k in same} == {k: getattr(online, k) for k in same}
