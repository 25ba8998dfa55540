"""The template through the tools a team deploys with: cfn-lint, `sam validate` (plain and --lint), `sam build`.

aws-sam-cli pins its own boto3, so it lives in its own virtual environment, `.venv-sam`, which `make test` creates
from infra/requirements-sam.txt before running these. SAM_CLI overrides where `sam` is found. None of these calls AWS:
`sam validate` only asks IAM when a template names managed policies by name, and this one names none; the region and
the credentials below are placeholders that nothing uses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.infra.samstack import FUNCTIONS, ROOT, TEMPLATE

SAM = Path(os.environ.get("SAM_CLI", ROOT / ".venv-sam" / "bin" / "sam"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAM_"))}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="placeholder",
        AWS_SECRET_ACCESS_KEY="placeholder",
        SAM_CLI_TELEMETRY="0",
        # functions/Makefile installs the Lambda's wheels with this interpreter's pip (any Python 3 will do).
        BUILD_PYTHON=sys.executable,
    )
    return env


def _run(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
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
        if p.is_file()
    }

    # Then every source file is there, and nothing else (no caches)
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
    ours = top - _dist_tops(build) - {p.name for p in build.glob("*.dist-info")}

    # Then besides the installed dependencies there are only the two packages: no tests, conftest, Makefile,
    # requirements file or caches
    assert ours == {"failstreak", "monitor"}
    assert not list(build.rglob("__pycache__"))
    assert not (build / "tests").exists()


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
    ours = top - _dist_tops(front) - {p.name for p in front.glob("*.dist-info")}
    installed = {_canonical(p.name.split("-", 1)[0]) for p in front.glob("*.dist-info")}
    built_template = (build.parent / "template.yaml").read_text(encoding="utf-8")

    # Then it holds failstreak and front (whole, no caches), every runtime dependency, and the template points at it
    assert ours == {"failstreak", "front"}
    assert (front / "front" / "app.py").read_bytes() == (FUNCTIONS / "front" / "app.py").read_bytes()
    assert (front / "failstreak" / "front" / "routes.py").is_file()
    assert not list(front.rglob("__pycache__"))
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
