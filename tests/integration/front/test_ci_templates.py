"""The GitHub Action (action.yml) and the GitLab CI component (templates/report.yml), their steps run as a runner
runs them (bash, the platform's variables) against the front on loopback; and the wheel, installed alone into a
fresh virtual environment, reporting with the standard library only (docs/http.md, "Reporting from CI")."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.front.conftest import INGEST_SECRET
from tests.integration.front.ingest_server import running

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
GITLAB_INPUT = re.compile(r"\$\[\[\s*inputs\.([a-z_]+)\s*\]\]")
MONITOR_MODULES = ("yaml", "pydantic", "orjson", "msgspec", "boto3", "slack_sdk", "aws_lambda_powertools")


def _base_env(tmp: Path) -> dict[str, str]:
    # A runner's clean environment: no virtual environment of the tests, the machine's PATH and pip settings.
    keep = ("PATH", "HOME", "LANG", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["TMPDIR"] = str(tmp)
    return env


def _inbox(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted(path.iterdir()) for line in f.read_text().splitlines()]


def _github_value(expression: str, inputs: dict[str, str]) -> str:
    """What a runner substitutes for `${{ ... }}` in action.yml: only the contexts this test models."""
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    if expression == "github.action_path":
        return str(ROOT)
    raise AssertionError(f"action.yml uses ${{{{ {expression} }}}}, which this test does not model")


def test_the_github_action_reports_the_job_result_as_a_runner_runs_it(tmp_path: Path) -> None:
    # Given action.yml, the inputs a workflow step gives it, and a GitHub runner's variables
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    with running(tmp_path / "front") as server:
        given = {"url": f"{server.url}/ingest", "secret": INGEST_SECRET, "status": "failure"}
        inputs = {name: given.get(name, spec.get("default", "")) for name, spec in action["inputs"].items()}
        runner_temp = tmp_path / "runner-temp"
        runner_temp.mkdir()
        env = {
            **_base_env(tmp_path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKFLOW": "CodeQL",
            "GITHUB_JOB": "linters",
            "GITHUB_RUN_ID": "2202229078",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_REPOSITORY": "octo-org/octo-repo",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": "3484a3fb816e0859fd6e1cea078d76385ff50625",
            "RUNNER_TEMP": str(runner_temp),
        }
        # When each step runs as the runner runs a bash step (`bash --noprofile --norc -eo pipefail {0}`)
        for step in action["runs"]["steps"]:
            assert step["shell"] == "bash"
            step_env = {
                k: GITHUB_EXPRESSION.sub(lambda m: _github_value(m[1], inputs), str(v)) for k, v in step["env"].items()
            }
            assert not GITHUB_EXPRESSION.search(step["run"]), "inputs reach a step through env, never the script"
            script = tmp_path / "step.sh"
            script.write_text(step["run"])
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                env={**env, **step_env},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        # Then the front received one record with the job's name and GitHub's run identity
        [record] = _inbox(server.inbox)
    assert (record["job"], record["run_id"], record["attempt"], record["status"]) == (
        "CodeQL / linters",
        "2202229078",
        1,
        "failure",
    )
    assert INGEST_SECRET not in done.stdout + done.stderr


def test_the_gitlab_component_reports_the_job_result_as_a_runner_runs_it(tmp_path: Path) -> None:
    # Given the component's spec and its hidden job, with the inputs an include gives it
    spec_text, job_text = (ROOT / "templates" / "report.yml").read_text().split("\n---\n", 1)
    spec = yaml.safe_load(spec_text)["spec"]["inputs"]
    with running(tmp_path / "front") as server:
        given = {"url": f"{server.url}/ingest", "package": str(ROOT)}
        inputs = {name: given.get(name, s.get("default")) for name, s in spec.items()}
        # GitLab interpolates $[[ inputs.* ]] when the component is included
        job = yaml.safe_load(GITLAB_INPUT.sub(lambda m: str(inputs[m[1]]), job_text))[".failstreak-report"]
        builds = tmp_path / "builds"
        builds.mkdir()
        env = {
            **_base_env(tmp_path),
            "GITLAB_CI": "true",
            "CI": "true",
            "CI_BUILDS_DIR": str(builds),
            "CI_JOB_NAME": "test",
            "CI_JOB_STATUS": "failed",
            "CI_JOB_ID": "1977",
            "CI_PIPELINE_ID": "2366",
            "CI_JOB_URL": "https://gitlab.example.com/gitlab-org/gitlab-test/-/jobs/1977",
            "CI_COMMIT_SHA": "2293ada6b400935a1378653304eaf6221e0fdb8f",
            "FAILSTREAK_INGEST_SECRET": INGEST_SECRET,
        }
        # When its after_script runs as a runner's bash shell runs it (one shell, `set -eo pipefail`)
        script = "set -eo pipefail\n" + "\n".join(job["after_script"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        # Then the front received one record with GitLab's run identity
        [record] = _inbox(server.inbox)
    assert (record["job"], record["run_id"], record["attempt"], record["status"]) == ("test", "2366", 1977, "failed")
    assert record["url"] == "https://gitlab.example.com/gitlab-org/gitlab-test/-/jobs/1977"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built as `make test` builds it."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = out.glob("failstreak-*.whl")
    return built


def test_the_wheel_installs_the_failstreak_package_alone(wheel: Path) -> None:
    # Given the wheel `pip install failstreak` gets
    with zipfile.ZipFile(wheel) as archive:
        # When its top-level names are listed
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    # Then they are the package and its metadata: the Lambda handlers (`monitor`, `front`) stay out of site-packages
    assert {top for top in tops if not top.endswith(".dist-info")} == {"failstreak"}


def test_the_wheel_alone_reports_with_the_standard_library(wheel: Path, tmp_path: Path) -> None:
    # Given a fresh virtual environment with the wheel installed and nothing else
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    probe = f"import importlib.util as u; print([m for m in {MONITOR_MODULES!r} if u.find_spec(m)])"
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    env = {**_base_env(tmp_path), "FAILSTREAK_INGEST_SECRET": INGEST_SECRET}
    failstreak = str(env_dir / "bin" / "failstreak")
    with running(tmp_path / "front") as server:
        # When its command reports to the front
        done = subprocess.run(
            [
                failstreak,
                "report",
                "--inbox",
                f"{server.url}/ingest",
                "--job",
                "nightly",
                "--status",
                "failed",
                "--run-id",
                "7",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Then the front took the record
        assert done.returncode == 0, done.stdout + done.stderr
        assert [(r["job"], r["run_id"]) for r in _inbox(server.inbox)] == [("nightly", "7")]
    # And a command that needs the monitor says which extra to install
    refused = subprocess.run([failstreak, "run"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2
    assert "failstreak run needs the monitor's dependencies" in refused.stderr
    assert "pip install 'failstreak[monitor]'" in refused.stderr
