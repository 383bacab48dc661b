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
