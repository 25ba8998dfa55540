"""The files under infra/ and functions/requirements.txt: valid, consistent with each other and with the code."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import yaml

from failstreak.app.config import parse_config
from tests.infra.samstack import FUNCTIONS, ROOT, load_template

INFRA = ROOT / "infra"


def _gen_requirements() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_requirements", ROOT / "scripts" / "gen_requirements.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jobowners() -> list[tuple[str, list[str]]]:
    rules = []
    for raw in (INFRA / "JOBOWNERS").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def test_requirements_file_matches_pyproject_runtime_dependencies() -> None:
    # Given pyproject.toml and the requirements file sam build installs
    gen = _gen_requirements()
    wanted = gen.render((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    # When we compare the committed file with what the generator writes
    current = (FUNCTIONS / "requirements.txt").read_text(encoding="utf-8")

    # Then they agree (`make requirements` rewrites it when they do not)
    assert current == wanted, "functions/requirements.txt is out of date: run `make requirements`"


def test_requirements_generator_lists_each_dependency_once_sorted() -> None:
    # Given a pyproject with unsorted runtime dependencies
    gen = _gen_requirements()
    text = '[project]\nname = "x"\ndependencies = ["pyyaml>=6.0", "Boto3>=1.34", "orjson>=3.10"]\n'

    # When the generator renders it
    rendered = gen.render(text)

    # Then the header says where it comes from, and the dependencies follow one a line, sorted
    lines = rendered.splitlines()
    assert lines[0].startswith("# Generated from pyproject.toml")
    assert [x for x in lines if not x.startswith("#")] == ["Boto3>=1.34", "orjson>=3.10", "pyyaml>=6.0"]


def test_example_config_is_valid_and_uses_the_stack_layout() -> None:
    # Given the example config
    text = (INFRA / "failstreak.yaml").read_text(encoding="utf-8")

    # When failstreak parses it
    cfg = parse_config(text, source="infra/failstreak.yaml")

    # Then state, inbox, owners and the page sit under the bucket's failstreak/ prefix, where the role may reach them
    assert cfg.state == "s3://BUCKET/failstreak/state.json"
    assert cfg.inbox == "s3://BUCKET/failstreak/inbox/"
    assert cfg.owners == "s3://BUCKET/failstreak/JOBOWNERS"
    assert cfg.page == "s3://BUCKET/failstreak/page.html"
    # ... and the Slack token is a reference to a secret, never a value
    assert cfg.notify.slack is not None
    assert cfg.notify.slack.token is not None
    assert cfg.notify.slack.token.describe() == "secret:failstreak/slack-bot-token"


def test_jobowners_names_only_teams_the_example_config_defines() -> None:
    # Given the example JOBOWNERS and config
    cfg = parse_config((INFRA / "failstreak.yaml").read_text(encoding="utf-8"))
    rules = _jobowners()

    # Then every line is `pattern  @team ...`, the first is the catch-all, and each team has destinations
    assert rules[0] == ("*", ["@release"])
    for pattern, owners in rules:
        assert owners, f"{pattern} has no owner"
        assert all(re.fullmatch(r"@[A-Za-z0-9_.-]+", o) for o in owners), owners
        assert {o[1:] for o in owners} <= set(cfg.teams), owners


def test_slack_manifest_asks_for_chat_write_and_the_command_and_points_both_at_the_front() -> None:
    # Given the Slack app manifest
    manifest = yaml.safe_load((INFRA / "slack-app-manifest.yaml").read_text(encoding="utf-8"))

    # Then the bot has exactly chat:write and commands, there are no user scopes and no events
    assert manifest["oauth_config"]["scopes"] == {"bot": ["chat:write", "commands"]}
    assert set(manifest["features"]) == {"bot_user", "slash_commands"}
    assert "event_subscriptions" not in manifest.get("settings", {})
    assert manifest["settings"]["socket_mode_enabled"] is False
    # And the buttons and the one slash command are answered by the front's two Slack routes
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": "FRONT_URL/slack/actions"}
    [command] = manifest["features"]["slash_commands"]
    assert (command["command"], command["url"]) == ("/failstreak", "FRONT_URL/slack/commands")


def test_deploy_docs_mention_every_template_parameter() -> None:
    # Given the template's parameters and the deploy guide
    parameters = list(load_template()["Parameters"])
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")

    # Then the guide explains each of them
    assert len(parameters) >= 10
    assert [p for p in parameters if f"`{p}`" not in guide] == []
