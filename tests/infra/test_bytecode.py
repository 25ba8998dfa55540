"""functions/Makefile's `bytecode` step, which both functions' builds end with: the bundle's modules compiled for
the Lambda runtime's Python, or, without such a Python, the sources alone and a note saying so.

`sam build` itself (with Python 3.13) is checked in test_sam_cli.py; these run the step alone on a small tree, with
the runtime's version set to this interpreter's (or one that does not exist) so that any Python runs them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.infra.samstack import FUNCTIONS

THIS_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
TAG = sys.implementation.cache_tag  # e.g. cpython-311


def _bundle(tmp_path: Path) -> Path:
    artifact = tmp_path / "artifact"
    (artifact / "pkg").mkdir(parents=True)
    (artifact / "pkg" / "__init__.py").write_text("")
    (artifact / "pkg" / "mod.py").write_text("VALUE = 1\n")
    return artifact


def _bytecode(artifact: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    args = [f"{k}={v}" for k, v in {"ARTIFACTS_DIR": str(artifact), **variables}.items()]
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(FUNCTIONS), "bytecode", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_build_python_compiles_every_module_unchecked_when_it_is_the_runtimes_version(tmp_path: Path) -> None:
    # Given a bundle of sources, and a build whose Python is the runtime's version
    artifact = _bundle(tmp_path)

    # When the bytecode step runs
    result = _bytecode(artifact, BUILD_PYTHON=sys.executable, LAMBDA_PYTHON_VERSION=THIS_PYTHON)

    # Then each module has its bytecode, hash-based and not checked against the source (PEP 552 flags 0b01)
    assert result.returncode == 0, result.stderr
    pycs = sorted(p.relative_to(artifact).as_posix() for p in artifact.rglob("*.pyc"))
    assert pycs == [f"pkg/__pycache__/__init__.{TAG}.pyc", f"pkg/__pycache__/mod.{TAG}.pyc"]
    flags = int.from_bytes((artifact / "pkg" / "__pycache__" / f"mod.{TAG}.pyc").read_bytes()[4:8], "little")
    assert flags == 0b01


def test_a_lambda_pyc_python_of_another_version_fails_the_build(tmp_path: Path) -> None:
    # Given a bundle, and LAMBDA_PYC_PYTHON naming a Python that is not the runtime's version
    artifact = _bundle(tmp_path)

    # When the bytecode step runs
    result = _bytecode(artifact, LAMBDA_PYC_PYTHON=sys.executable, LAMBDA_PYTHON_VERSION="3.99")

    # Then the build fails and says why, and nothing was compiled
    assert result.returncode != 0
    assert f"LAMBDA_PYC_PYTHON={sys.executable} is not a Python 3.99, the Lambda runtime's" in result.stderr
    assert list(artifact.rglob("*.pyc")) == []


def test_without_a_python_of_the_runtimes_version_the_bundle_ships_sources_and_says_so(tmp_path: Path) -> None:
    # Given a bundle, and no Python of the runtime's version (neither the build's nor python3.99 on PATH)
    artifact = _bundle(tmp_path)

    # When the bytecode step runs
    result = _bytecode(artifact, BUILD_PYTHON=sys.executable, LAMBDA_PYTHON_VERSION="3.99")

    # Then the build goes on with the sources alone, and a note says what that costs and how to avoid it
    assert result.returncode == 0, result.stderr
    assert "note: no Python 3.99 to compile the bundle's bytecode (set LAMBDA_PYC_PYTHON)" in result.stderr
    assert "every cold start compiles again" in result.stderr
    assert list(artifact.rglob("__pycache__")) == []
