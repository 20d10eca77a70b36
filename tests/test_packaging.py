"""What ``pip install`` ships: the wheel's top-level packages are ``xray_core`` and ``pytest_xray``
(a top-level ``demo`` in site-packages would collide with users' own modules), and the public
names of ``xray_core`` are a literal ``__all__`` that tools can read."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import xray_core

ROOT = Path(__file__).resolve().parents[1]
# Left out of the copy that is built: version control, caches, earlier builds, local virtualenvs.
_NOT_SOURCES = {"build", "dist", "test-artifacts", "venv", "__pycache__"}


def _not_sources(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT
    return {
        name for name in names
        if name in _NOT_SOURCES or name.endswith(".egg-info") or (top and name.startswith("."))
    }  # fmt: skip


def build_wheel(tmp_path: Path) -> Path:
    """The wheel ``pip`` builds from a clean copy of the repository (no stale ``build/``)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_not_sources)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("decisiontracex-*.whl")
    return wheel


def test_the_wheel_ships_xray_core_and_pytest_xray_only(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_wheel(tmp_path)) as wheel:
        names = wheel.namelist()
        entry_points = next(
            wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")
        )
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"xray_core", "pytest_xray"}
    assert not [name for name in names if "/tests/" in name or "__xray_baselines__" in name]
    for shipped in ("xray_core/__main__.py", "xray_core/py.typed", "pytest_xray/plugin.py"):
        assert shipped in names
    assert any(n.startswith("xray_core/report/templates/") for n in names)
    for asset in ("serve/static/loader.js", "serve/static/serve.js", "serve/static/serve.css",
                  "serve/templates/index.html.j2"):  # xray serve's pages
        assert f"xray_core/{asset}" in names
    assert "xray = xray_core.cli:main" in entry_points
    assert "xray = pytest_xray.plugin" in entry_points


def test_all_is_the_literal_list_of_the_lazily_imported_names() -> None:
    assert xray_core.__all__ == sorted(xray_core._HOME_OF)
    for name in xray_core.__all__:
        assert getattr(xray_core, name) is not None, name
