"""The password rule's messages say what it really checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from rempart.cli import main
from rempart.workspace import WeakPassword, passwords


def test_the_name_rule_says_it_checks_the_part_before_the_at() -> None:
    with pytest.raises(WeakPassword) as caught:
        passwords.check_strength("Maire-Solide-Passe-2026!", "maire@example.fr")
    message = str(caught.value)
    assert "must not contain the name of the e-mail address (maire)" in message
    assert "maire@example.fr" not in message
    # the domain is not part of the rule: a password holding it passes
    passwords.check_strength("Example-Solide-Passe-2026!", "maire@example.fr")


def test_admin_create_gives_that_message_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REMPART_ADMIN_PASSWORD", "Maire-Solide-Passe-2026!")
    db = f"sqlite:///{tmp_path}/s.db"
    argv = ["admin", "create", "--email", "maire@example.fr", "--org", "ville", "--db", db]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "name of the e-mail address (maire)" in err and "Traceback" not in err
