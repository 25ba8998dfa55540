"""The template through the tools a team deploys with: cfn-lint, `sam validate` (plain and --lint), `sam build`.

aws-sam-cli pins its own boto3, so it lives in its own virtual environment, `.venv-sam`, which `make test` creates
from infra/requirements-sam.txt before running these. SAM_CLI overrides where `sam` is found. None of these calls AWS:
`sam validate` only asks IAM when a template names managed policies by name, and this one names none; the region and
the credentials below are placeholders that nothing uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from tests.infra.samstack import FUNCTIONS, ROOT, TEMPLATE

SAM = Path(os.environ.get("SAM_CLI", ROOT / ".venv-sam" / "bin" / "sam"))
LAMBDA_PYTHON = "3.13"


@cache
def _lambda_python() -> str | None:
    """A Python of the Lambda runtime's version, which functions/Makefile compiles the bundle's bytecode with:
    LAMBDA_PYC_PYTHON, else python3.13 on PATH, else pyenv's; None on a machine with none (the build then ships
    sources only, and says so: the tests check that instead)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = [os.environ.get("LAMBDA_PYC_PYTHON"), shutil.which(f"python{LAMBDA_PYTHON}")]
    found += [str(p) for p in sorted(pyenv.glob(f"versions/{LAMBDA_PYTHON}*/bin/python{LAMBDA_PYTHON}"))]
    for candidate in filter(None, found):
        says = "import sys; print(*sys.version_info[:2], sep='.')"
        version = subprocess.run([candidate, "-c", says], capture_output=True, text=True, check=False)
        if version.returncode == 0 and version.stdout.strip() == LAMBDA_PYTHON:
            return candidate
    return None


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAM_"))}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="placeholder",
        AWS_SECRET_ACCESS_KEY="placeholder",
        SAM_CLI_TELEMETRY="0",
        # functions/Makefile installs the Lambda's wheels with this interpreter's pip (any Python 3 will do).
        BUILD_PYTHON=sys.executable,
        **extra,
    )
    return env


def _run(*args: str | Path, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def sam() -> Path:
    if not SAM.exists():
        pytest.fail(f"{SAM} not found: `make sam-deps` creates .venv-sam (or set SAM_CLI)")
    return SAM


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    # Given the template as committed
    # When cfn-lint checks it (the CloudFormation resource specs, after the SAM transform)
    result = _run(Path(sys.executable).parent / "cfn-lint", "--", TEMPLATE)

    # Then it reports no error, warning or informational finding
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_sam_validate_accepts_the_template(sam: Path) -> None:
    # Given the template as committed
    # When SAM CLI validates it (the translator's own checks, which catch policy-template parameter mistakes)
    result = _run(sam, "validate", "--template-file", TEMPLATE)

    # Then it is a valid SAM template
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_sam_validate_lint_accepts_the_template(sam: Path) -> None:
    # Given the template as committed
    # When SAM CLI validates it with its bundled cfn-lint
    result = _run(sam, "validate", "--lint", "--template-file", TEMPLATE)

    # Then the linter finds nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


@pytest.fixture(scope="module")
def build(sam: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` with the project's samconfig, into a temporary directory; yields the function's artifact."""
    out = tmp_path_factory.mktemp("sam-build")
    result = _run(
        sam,
        "build",
        "--config-file",
        "infra/samconfig.toml",
        "--template-file",
        TEMPLATE,
        "--build-dir",
        out / "build",
        "--cache-dir",
        out / "cache",
        # and the bundle's bytecode compiled by a Python of the runtime's version, when the machine has one
        **({"LAMBDA_PYC_PYTHON": python} if (python := _lambda_python()) else {}),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "build" / "MonitorFunction"


def _requirement_names() -> list[str]:
    lines = (FUNCTIONS / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0] for line in lines if line and not line.startswith("#")]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _dist_tops(artifact: Path) -> set[str]:
    """Top-level names the installed distributions own, read from their RECORD files."""
    tops: set[str] = set()
    for record in artifact.glob("*.dist-info/RECORD"):
        for line in record.read_text(encoding="utf-8").splitlines():
            tops.add(line.split(",", 1)[0].split("/", 1)[0])
    return tops


def test_sam_build_ships_both_packages_whole(build: Path) -> None:
    # Given the built function artifact
    # When we compare its two packages with the sources
    sources = {
        p.relative_to(FUNCTIONS).as_posix()
        for pkg in ("failstreak", "monitor")
        for p in (FUNCTIONS / pkg).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    built = {
        p.relative_to(build).as_posix()
        for pkg in ("failstreak", "monitor")
        for p in (build / pkg).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }

    # Then every source file is there, and nothing else besides their bytecode
    assert "monitor/__init__.py" in built
    assert "failstreak/app/cli.py" in built
    assert built == sources


def test_sam_build_installs_every_runtime_dependency_for_arm64_python313(build: Path) -> None:
    # Given the built artifact and the runtime requirements
    installed = {_canonical(p.name.split("-", 1)[0]) for p in build.glob("*.dist-info")}

    # Then each requirement is installed, and compiled extensions are CPython 3.13 aarch64 builds
    assert {_canonical(n) for n in _requirement_names()} <= installed
    extensions = [p.name for p in build.rglob("*.so")]
    assert extensions, "expected compiled dependencies (msgspec, orjson)"
    assert all(re.search(r"cpython-313-aarch64-linux-gnu\.so$|abi3\.so$", n) for n in extensions), extensions
    assert any(n.startswith("_core.cpython-313-aarch64") for n in extensions)  # msgspec's


def test_sam_build_contains_nothing_from_tests_or_the_build_recipe(build: Path) -> None:
    # Given the built artifact's top level
    top = {p.name for p in build.iterdir()}
    # (the top-level __pycache__ holds the bytecode of the dependencies' single-file modules, checked below)
    ours = top - _dist_tops(build) - {p.name for p in build.glob("*.dist-info")} - {"__pycache__"}

    # Then besides the installed dependencies there are only the two packages: no tests, conftest, Makefile,
    # requirements file, nor caches other than the runtime's bytecode of the modules shipped
    assert ours == {"failstreak", "monitor"}
    assert _stray_caches(build) == []
    assert not (build / "tests").exists()


def _stray_caches(artifact: Path) -> list[str]:
    """What a __pycache__ of `artifact` holds beyond the Python 3.13 bytecode of a module shipped beside it."""
    return [
        p.relative_to(artifact).as_posix()
        for cache_dir in artifact.rglob("__pycache__")
        for p in cache_dir.iterdir()
        if not (p.name.endswith(".cpython-313.pyc") and (cache_dir.parent / (p.name.split(".")[0] + ".py")).is_file())
    ]


def _pyc_header(pyc: Path) -> tuple[bytes, int]:
    """The magic number and the flags of a .pyc file (PEP 552: bit 0 hash-based, bit 1 checked against the source)."""
    head = pyc.read_bytes()[:8]
    return head[:4], int.from_bytes(head[4:8], "little")


def _missing_bytecode(artifact: Path) -> list[str]:
    """The modules of `artifact` without their Python 3.13 bytecode; with no Python 3.13 on this machine (a build
    of sources only), the bytecode files it holds instead, which must be none."""
    if _lambda_python() is None:
        return [p.relative_to(artifact).as_posix() for p in artifact.rglob("*.pyc")]
    return [
        p.relative_to(artifact).as_posix()
        for p in artifact.rglob("*.py")
        if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").is_file()
    ]


def test_sam_build_ships_every_module_compiled_for_python313_unchecked(build: Path) -> None:
    # Given the built artifact (the Lambda's filesystem is read-only: what has no bytecode there is compiled again at
    # every cold start), and the magic number of the runtime's Python
    python = _lambda_python()
    if python is None:
        # (a machine with no Python 3.13: the build ships sources only; its note is checked in test_bytecode.py)
        assert list(build.rglob("*.pyc")) == []
        return
    magic = subprocess.run(
        [python, "-c", "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pycs = list(build.rglob("*.cpython-313.pyc"))

    # Then every module, ours and the dependencies', has its Python 3.13 bytecode, hash-based and never checked
    # against the source (the bundle does not change once built)
    assert _missing_bytecode(build) == []
    assert (build / "monitor" / "__pycache__" / "app.cpython-313.pyc") in pycs
    assert {_pyc_header(p) for p in pycs} == {(bytes.fromhex(magic), 0b01)}


def test_sam_build_template_points_at_the_built_artifact(build: Path) -> None:
    # Given the template sam build writes next to the artifacts
    built_template = (build.parent / "template.yaml").read_text(encoding="utf-8")

    # Then the function's CodeUri is the artifact directory, ready for `sam deploy`
    assert re.search(r"CodeUri: MonitorFunction\s", built_template)
    assert "Handler: monitor.app.lambda_handler" in built_template


def test_sam_build_ships_the_front_with_its_package_and_the_runtime_dependencies(build: Path) -> None:
    # Given the front's artifact, built beside the monitor's
    front = build.parent / "FrontFunction"
    top = {p.name for p in front.iterdir()}
    ours = top - _dist_tops(front) - {p.name for p in front.glob("*.dist-info")} - {"__pycache__"}
    installed = {_canonical(p.name.split("-", 1)[0]) for p in front.glob("*.dist-info")}
    built_template = (build.parent / "template.yaml").read_text(encoding="utf-8")

    # Then it holds failstreak and front (whole, compiled, no other caches), every runtime dependency, and the
    # template points at it
    assert ours == {"failstreak", "front"}
    assert (front / "front" / "app.py").read_bytes() == (FUNCTIONS / "front" / "app.py").read_bytes()
    assert (front / "failstreak" / "front" / "routes.py").is_file()
    assert _stray_caches(front) == []
    assert _missing_bytecode(front) == []
    assert {_canonical(n) for n in _requirement_names()} <= installed
    assert re.search(r"CodeUri: FrontFunction\s", built_template)
    assert "Handler: front.app.lambda_handler" in built_template


def test_samconfig_deploys_with_iam_capability_and_confirmation() -> None:
    # Given infra/samconfig.toml
    config = tomllib.loads((ROOT / "infra" / "samconfig.toml").read_text(encoding="utf-8"))["default"]

    # Then it names the stack, lets SAM manage the artifact bucket, and asks before changing anything
    assert config["global"]["parameters"]["stack_name"] == "failstreak"
    deploy = config["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
