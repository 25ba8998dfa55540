"""Source blocks: validated with the config, each against its platform's model; names, defaults and secrets."""

from __future__ import annotations

import sys

import pytest

from failstreak.app import wiring
from failstreak.app.config import parse_config
from failstreak.errors import ConfigError, SourceError
from failstreak.secretref import SecretRef
from failstreak.sources import build
from failstreak.sources.common import HttpSource
from failstreak.sources.databricks import DatabricksSource
from failstreak.sources.github import GitHubSource
from failstreak.sources.gitlab import GitLabSource
from failstreak.sources.settings import BaseSourceConfig, DatabricksConfig, DataikuConfig, GitHubConfig, GitLabConfig


def sources(yaml_blocks: str) -> list[HttpSource]:
    built = wiring.sources(parse_config("sources:\n" + yaml_blocks, source="f.yaml"))
    assert all(isinstance(s, HttpSource) for s in built)
    return built  # type: ignore[return-value]


def test_a_missing_platform_field_is_named_with_the_block_index_and_type() -> None:
    # Given a GitLab block without its project
    blocks = """
  - {type: github, url: "https://api.github.com", token: {env: GH}, repo: o/r}
  - {type: gitlab, url: "https://gitlab.example.com", token: {env: GL}}
"""
    # When the config is loaded, then the error names the file, the block, the type and the field
    with pytest.raises(ConfigError, match=r"^f\.yaml: sources\[1\] \(gitlab\): project: field required$"):
        sources(blocks)


def test_an_unknown_field_is_rejected_so_typos_do_not_pass_silently() -> None:
    # Given a typo in a Databricks block, when the config is loaded, then it is named
    with pytest.raises(ConfigError, match=r"sources\[0\] \(databricks\): overlap_minuts: unknown field"):
        sources('  - {type: databricks, url: "https://adb.net", token: {env: T}, overlap_minuts: 5}\n')


def test_a_secret_given_as_plain_text_is_rejected() -> None:
    # Given a token written into the file
    # When the config is loaded, then it must be a reference
    with pytest.raises(ConfigError, match=r"sources\[0\] \(github\): token: "):
        sources('  - {type: github, token: "ghp_plaintext", repo: o/r}\n')


def test_defaults_name_each_source_after_its_type_and_use_public_urls() -> None:
    # Given minimal GitHub and GitLab blocks
    gh, gl = sources("""
  - {type: github, token: {secret: ci/github}, repo: octo/app}
  - {type: gitlab, token: {ssm: /ci/gitlab}, project: 42}
""")

    # When built, then names and urls default
    assert isinstance(gh, GitHubSource)
    assert isinstance(gl, GitLabSource)
    assert (gh.name, gh.cfg.url) == ("github", "https://api.github.com")
    assert (gl.name, gl.cfg.url) == ("gitlab", "https://gitlab.com")
    assert (gh.cfg.overlap_minutes, gh.cfg.max_pages) == (60, 20)


def test_two_sources_with_one_name_are_rejected_because_they_would_share_a_cursor() -> None:
    # Given two GitHub blocks without names
    blocks = """
  - {type: github, token: {env: A}, repo: o/a}
  - {type: github, token: {env: B}, repo: o/b}
"""
    # When the config is loaded, then the clash is named
    with pytest.raises(ConfigError, match=r"sources\[1\] \(github\): name: 'github' is already used by sources\[0\]"):
        sources(blocks)


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ('{type: github, token: {env: A}, repo: "not-a-repo"}', "repo"),
        ('{type: dataiku, url: "https://dss", api_key: {env: K}, projects: []}', "projects"),
        ('{type: databricks, url: "ftp://x.example.com", token: {env: T}}', "url"),
        ("{type: github, name: _config_mutes, token: {env: A}, repo: o/r}", "name"),
        ("{type: gitlab, token: {env: A}, project: 1, max_pages: 0}", "max_pages"),
    ],
)
def test_invalid_platform_values_are_rejected_naming_the_field(block: str, field: str) -> None:
    # Given an invalid value, when the config is loaded, then the field is named
    with pytest.raises(ConfigError, match=rf"sources\[0\] \([a-z]+\): {field}: "):
        sources(f"  - {block}\n")


def test_a_missing_environment_variable_fails_only_that_source_at_pull_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Databricks source whose token variable is unset
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    [src] = sources(
        '  - {type: databricks, name: dbx, url: "https://adb.example.net", token: {env: NOT_SET_ANYWHERE}}\n'
    )
    assert isinstance(src, DatabricksSource)

    # When it pulls, then a SourceError names the reference, not a value
    with pytest.raises(SourceError, match=r"^dbx: token \(env:NOT_SET_ANYWHERE\) could not be read"):
        src.pull({}, 1_700_000_000_000)


def test_only_the_platforms_a_config_uses_are_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a config with a GitHub source only, and a process that has not imported the other platforms
    for mod in ("failstreak.sources.databricks", "failstreak.sources.dataiku"):
        monkeypatch.delitem(sys.modules, mod, raising=False)

    # When its sources are built
    sources("  - {type: github, token: {env: A}, repo: o/r}\n")

    # Then the other platforms' modules were not imported
    assert "failstreak.sources.databricks" not in sys.modules
    assert "failstreak.sources.dataiku" not in sys.modules


def test_the_cursor_window_starts_at_the_last_pull_minus_overlap_or_the_initial_lookback() -> None:
    # Given a source with a 15-minute overlap and a 2-hour initial lookback
    [src] = sources("  - {type: github, token: {env: A}, repo: o/r, overlap_minutes: 15, initial_lookback_hours: 2}\n")
    now = 1_700_000_000_000

    # When windows are computed for no cursor, a good cursor, and corrupt ones
    # Then the lookback or the overlap applies, and a corrupt cursor falls back to the lookback
    assert src.window_start({}, now) == now - 2 * 3_600_000
    assert src.window_start({"since": now - 60_000}, now) == now - 60_000 - 15 * 60_000
    assert src.window_start({"since": "yesterday"}, now) == now - 2 * 3_600_000
    assert src.window_start({"since": now + 1}, now) == now - 2 * 3_600_000


def test_a_secrets_backend_failure_fails_only_that_source_without_quoting_the_backend() -> None:
    # Given a Secrets Manager reference whose backend fails with a message that must not be echoed
    def broken(ref: SecretRef) -> str:
        raise RuntimeError("AccessDenied for arn:aws:secretsmanager:eu-west-1:123:secret:ci/github")

    cfg = parse_config("sources:\n  - {type: github, name: gh, token: {secret: ci/github}, repo: o/r}\n")
    [src] = build(cfg.sources, broken)

    # When it pulls, then a SourceError names the reference and the error type only
    with pytest.raises(SourceError) as err:
        src.pull({}, 1_700_000_000_000)
    assert str(err.value) == "gh: token (secret:ci/github) could not be read (RuntimeError)"


@pytest.mark.parametrize(
    ("block", "model", "field", "value"),
    [
        (
            "{type: databricks, url: 'https://adb.example.net', token: {env: T}, job_id: 7}",
            DatabricksConfig,
            "job_id",
            7,
        ),
        (
            "{type: dataiku, url: 'https://dss.example.com', api_key: {env: K}, projects: [SALES]}",
            DataikuConfig,
            "projects",
            ["SALES"],
        ),
        ("{type: gitlab, token: {env: T}, project: group/app, ref: main}", GitLabConfig, "project", "group/app"),
        ("{type: github, token: {ssm: /ci/gh}, repo: octo/app, branch: main}", GitHubConfig, "branch", "main"),
    ],
    ids=["databricks", "dataiku", "gitlab", "github"],
)
def test_a_correct_block_of_each_platform_is_validated_with_the_config_into_its_platforms_settings(
    block: str, model: type[BaseSourceConfig], field: str, value: object
) -> None:
    # Given a config file with one correct block of a platform
    # When the config is loaded
    cfg = parse_config(f"sources: [{block}]\n", source="f.yaml")
    # Then the block is that platform's settings, with the fields as written and its secret a reference
    [settings] = cfg.sources
    assert type(settings) is model
    assert getattr(settings, field) == value
    assert [k for k in type(settings).__struct_fields__ if isinstance(getattr(settings, k), SecretRef)] != []
    assert [s.name for s in wiring.sources(cfg)] == [settings.type]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "{type: jenkins, url: 'https://ci.example.com'}",
            "sources[0]: type: must be one of databricks, dataiku, gitlab, github",
        ),
        ("{url: 'https://ci.example.com'}", "sources[0]: type: must be one of databricks, dataiku, gitlab, github"),
        ("github", "sources[0]: should be a mapping of keys to values, not 'github'"),
        (
            "{type: gitlab, token: {env: T}, project: 1, max_pages: many}",
            "sources[0] (gitlab): max_pages: should be a valid integer, "
            "unable to parse string as an integer (got 'many')",
        ),
        (
            "{type: dataiku, url: 'https://dss.example.com', api_key: {env: K}, projects: [A, b/c]}",
            "sources[0] (dataiku): projects: 'b/c' is not a project key",
        ),
        (
            "{type: github, token: {env: A, ssm: /b}, repo: o/r}",
            "sources[0] (github): token: give exactly one of env, secret, ssm: "
            "{env: NAME}, {secret: NAME} or {ssm: /PATH}",
        ),
    ],
    ids=["unknown-type", "no-type", "not-a-mapping", "wrong-type", "bad-list-item", "two-secrets"],
)
def test_a_broken_block_is_refused_when_the_config_is_loaded_naming_the_block_and_field(
    block: str, message: str
) -> None:
    # Given a config file with a broken source block
    # When it is loaded (before any source is built)
    with pytest.raises(ConfigError) as err:
        parse_config(f"state: s.json\nsources: [{block}]\n", source="f.yaml")
    # Then the one-line error names the file, the block and the field, in the config file's words
    assert str(err.value) == f"f.yaml: {message}"


def test_two_blocks_that_default_to_one_name_are_refused_when_the_config_is_loaded() -> None:
    # Given two GitLab blocks without a name, so both would be called "gitlab"
    text = (
        "sources:\n  - {type: gitlab, token: {env: A}, project: 1}\n  - {type: gitlab, token: {env: B}, project: 2}\n"
    )
    # When the config is loaded, then the clash is refused in the config's usual form
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="f.yaml")
    assert str(err.value) == (
        "f.yaml: sources[1] (gitlab): name: 'gitlab' is already used by sources[0]; "
        "give each source a distinct name (its cursor is kept under it)"
    )
