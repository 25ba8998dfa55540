"""`failstreak html` (docs/page.md, docs/cli.md): the run-history page of a local state, to a file or stdout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from failstreak.app.cli import main
from failstreak.core.pagetoken import verify
from tests.conftest import T0

JOBOWNERS = "ci/*  @team-ci\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A state after one pass: ci/a failing three times (alerting, owned by team-ci), etl/b fine (no owner)."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "JOBOWNERS").write_text(JOBOWNERS)
    (tmp_path / "failstreak.yaml").write_text("state: state.json\ninbox: inbox/\nowners: JOBOWNERS\n")
    lines = [
        json.dumps({"job": job, "run_id": n, "status": status, "finished_at": T0 + n * 60_000, "reason": "<b>x</b>"})
        for job, status in (("ci/a", "failed"), ("etl/b", "success"))
        for n in (1, 2, 3)
    ]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["run", "--config", str(tmp_path / "failstreak.yaml")]) == 0
    return tmp_path


def test_html_writes_the_page_of_the_state_to_a_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state with an alerting job of team-ci and an unowned job
    capsys.readouterr()
    out = workdir / "page.html"

    # When the page is written to a file
    assert main(["html", "--config", str(workdir / "failstreak.yaml"), "--out", str(out)]) == 0

    # Then the file holds both jobs, team-ci's first, and the command says what it wrote
    html = out.read_text()
    assert html.index('data-job="ci/a"') < html.index('data-job="etl/b"')
    assert 'data-team="team-ci"' in html
    assert 'data-team="default"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert capsys.readouterr().out == f"{out}: written, 2 jobs, {len(html.encode())} bytes\n"


def test_html_to_stdout_prints_the_page(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state; When the page is asked on stdout
    capsys.readouterr()
    assert main(["html", "--config", str(workdir / "failstreak.yaml"), "--out", "-"]) == 0

    # Then stdout is the page
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>")
    assert out.endswith("</html>\n")


def test_html_keeps_the_configured_page_and_leaves_an_unchanged_one_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given `page:` in the config
    config = workdir / "failstreak.yaml"
    config.write_text(config.read_text() + "page: site/page.html\n")
    capsys.readouterr()

    # When the page is written twice with nothing changed in between
    assert main(["html", "--config", str(config)]) == 0
    assert main(["html", "--config", str(config)]) == 0

    # Then the first writes it beside the config (folders made) and the second leaves it alone
    lines = capsys.readouterr().out.splitlines()
    where = workdir / "site" / "page.html"
    assert lines[0].startswith(f"{where}: written, 2 jobs")
    assert lines[1].startswith(f"{where}: unchanged, 2 jobs")
    assert (workdir / "site" / "page.html").is_file()


def test_html_without_a_destination_or_url_without_s3_says_what_to_give(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a config without `page:`
    config = str(workdir / "failstreak.yaml")
    capsys.readouterr()

    # When the page is asked with no --out, or with --url
    # Then each fails with one line saying what to give
    assert main(["html", "--config", config]) == 1
    assert "give --out FILE (or --out - for stdout), or set `page:` in the config" in capsys.readouterr().err
    assert main(["html", "--config", config, "--url"]) == 1
    assert "--url needs `page:` set to an s3:// URI in the config" in capsys.readouterr().err


def test_a_page_location_naming_a_folder_is_a_config_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given `page:` ending in a slash
    config = workdir / "failstreak.yaml"
    config.write_text(config.read_text() + "page: s3://bucket/pages/\n")
    capsys.readouterr()

    # When the page is written; Then the config is refused, naming the field and what to write
    assert main(["html", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "page" in err
    assert "names a folder" in err


def test_html_link_prints_a_run_history_link_the_front_accepts_and_says_how_long_it_lives(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a config with the front's URL, a page secret and a page
    monkeypatch.setenv("PAGE_SECRET", "page-secret-for-tests")
    config = workdir / "failstreak.yaml"
    config.write_text(
        config.read_text()
        + "page: page.html\nhttp:\n  url: https://front.example.com\n  page_secret: {env: PAGE_SECRET}\n"
        + "  page_link_days: 3\n"
    )
    capsys.readouterr()
    now = time.time()

    # When a link is asked, with the default lifetime and with --expires
    assert main(["html", "--config", str(config), "--link"]) == 0
    default = capsys.readouterr()
    assert main(["html", "--config", str(config), "--link", "--expires", "12h"]) == 0
    short = capsys.readouterr()

    # Then each prints a link to the front's /page whose token expires after the lifetime asked
    for printed, lifetime in ((default, 3 * 86400), (short, 12 * 3600)):
        url = printed.out.strip()
        assert url.startswith("https://front.example.com/page?token=v1.")
        token = url.split("token=", 1)[1]
        assert abs(verify("page-secret-for-tests", token, now) - (now + lifetime)) < 5
        # And says, on stderr, until when it works and that anyone holding it can open the page
        assert "the link works until" in printed.err
        assert "for anyone who has it" in printed.err
    assert "(3 d 0 h from now)" in default.err
    assert "(0 d 12 h from now)" in short.err


def test_html_link_without_the_front_or_secret_names_what_is_missing(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a config without the front's URL, page secret or page (and no FAILSTREAK_FRONT_URL)
    monkeypatch.delenv("FAILSTREAK_FRONT_URL", raising=False)
    capsys.readouterr()
    # When a link is asked; Then it fails naming each missing piece
    assert main(["html", "--config", str(workdir / "failstreak.yaml"), "--link"]) == 1
    err = capsys.readouterr().err
    assert "no run-history link" in err
    assert "http.url, or the FAILSTREAK_FRONT_URL environment variable" in err
    assert "http.page_secret" in err
    assert "page:" in err
    # And --url and --link cannot be asked together
    with pytest.raises(SystemExit):
        main(["html", "--config", str(workdir / "failstreak.yaml"), "--link", "--url"])
