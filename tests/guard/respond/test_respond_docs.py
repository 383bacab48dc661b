"""docs/guard.md documents every responder and option, and its example configuration loads."""

from __future__ import annotations

import re
from pathlib import Path

from rempart.guard.respond import RESPONDERS
from rempart.guard.respond._config import enabled_responders, load_config, options_of

DOC = Path(__file__).resolve().parents[3] / "docs" / "guard.md"


def test_every_responder_and_option_documented() -> None:
    text = DOC.read_text()
    for name, spec in RESPONDERS.items():
        assert f"### {name}\n" in text, f"responder {name} not documented"
        for opt in options_of(spec):
            assert f"`{opt.name}`" in text, f"option {name}.{opt.name} not documented"


def test_example_configuration_loads(tmp_path: Path) -> None:
    found = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    assert found is not None
    path = tmp_path / "guard.toml"
    path.write_text(found.group(1))
    config = load_config(path)
    assert enabled_responders([], config) == [
        "stop-process",
        "block-client",
        "close-session",
        "record",
        "hook",
        "alert",
    ]
