"""docs/cli.md documents every ``xray`` command and option, and its sessions match the code."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from xray_core.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_command_and_option_is_documented(name: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"## `xray {name}" in text or f"`xray {name}` and" in text or \
        f"and `xray {name}`" in text, name  # fmt: skip
    options = {
        opt for action in _subcommands()[name]._actions for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    }  # fmt: skip
    missing = sorted(opt for opt in options if not re.search(re.escape(opt) + r"\b", text))
    assert missing == [], f"xray {name}: undocumented options {missing}"


def test_documented_errors_are_the_real_messages() -> None:
    from xray_core.commands.common import UsageError, find_db

    text = DOC.read_text(encoding="utf-8")
    with pytest.raises(UsageError) as info:
        find_db(Path("/tmp/elsewhere"))
    assert str(info.value).replace("/tmp/elsewhere", "<dir>") in text.replace(
        "/tmp/elsewhere", "<dir>")  # fmt: skip
