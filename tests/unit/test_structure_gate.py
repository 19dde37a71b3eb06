"""The structure gate (tools/structure.py): it catches a class over the limit and an import circle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import structure

pytestmark = pytest.mark.unit


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_class_over_the_limit_is_a_finding_and_one_at_the_limit_is_not(tmp_path: Path) -> None:
    # Given a class of exactly 5 lines and one of 6
    _write(tmp_path, "pkg/a.py", "class Small:\n" + "    x = 1\n" * 4 + "class Big:\n" + "    y = 1\n" * 5)
    # When the gate measures them with a limit of 5
    findings = structure.large_classes(tmp_path, limit=5)
    # Then only the big one is reported, by path and name
    assert [f.key for f in findings] == ["class pkg/a.py::Big"]


def test_an_import_circle_is_found_even_through_a_function_level_or_type_only_import(tmp_path: Path) -> None:
    # Given a -> b at module level, b -> c inside a function, c -> a under TYPE_CHECKING, and d -> a
    _write(tmp_path, "pkg/__init__.py", "")
    _write(tmp_path, "pkg/a.py", "from pkg import b\n")
    _write(tmp_path, "pkg/b.py", "def f():\n    from pkg.c import thing\n")
    _write(tmp_path, "pkg/c.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    _write(tmp_path, "pkg/d.py", "import pkg.a\n")
    # When the gate looks for circles in the package
    findings = structure.import_cycles({"pkg": tmp_path / "pkg"})
    # Then a, b and c form one circle and d, which only leans on it, is not part of it
    assert [f.key for f in findings] == ["cycle pkg.a <-> pkg.b <-> pkg.c"]


def test_a_package_without_circles_has_no_finding(tmp_path: Path) -> None:
    _write(tmp_path, "pkg/__init__.py", "from pkg.a import x\n")
    _write(tmp_path, "pkg/a.py", "x = 1\n")
    assert structure.import_cycles({"pkg": tmp_path / "pkg"}) == []


def test_the_repository_passes_its_own_gate(capsys: pytest.CaptureFixture[str]) -> None:
    # Every finding fails the gate: there is no allow-list.
    assert structure.main() == 0, capsys.readouterr().out
