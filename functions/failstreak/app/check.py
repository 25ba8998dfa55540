"""`failstreak check`: the config and everything it names, one line per check, before a pass depends on them.

Like `dbt debug`: the config is validated, every secret resolved (its value never printed), Slack asked who the
token is (`auth.test`), the SES sender identity looked up, the state read, the inbox listed, and the owners file
read, naming the teams alerts cannot reach. A check that cannot run because an earlier one failed is not listed.
Channels are reported "not checked": with the `chat:write` scope alone the app cannot see a channel it is not in,
so only a real post tells (docs/deploy.md, "Check before the first pass").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from failstreak.app.config import Config, load_config, resolve_secret
from failstreak.errors import ConfigError, FailstreakError
from failstreak.secretref import SecretRef

OK, WARN, FAIL, NOT_CHECKED = "ok", "warn", "fail", "not checked"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status.upper():<11}  {self.name}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


def _first_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0]


def _secret_refs(cfg: Config) -> Iterator[tuple[str, SecretRef]]:
    slack = cfg.notify.slack
    if slack is not None:
        if slack.token is not None:
            yield "notify.slack.token", slack.token
        if slack.webhook_url is not None:
            yield "notify.slack.webhook_url", slack.webhook_url
    email = cfg.notify.email
    if email is not None and email.smtp is not None and email.smtp.password is not None:
        yield "notify.email.smtp.password", email.smtp.password
    for i, block in enumerate(cfg.sources):
        for key in block.__struct_fields__:
            value = getattr(block, key)
            if isinstance(value, SecretRef):
                yield f"sources[{i}].{key}", value


def _secrets(cfg: Config, resolved: dict[str, str]) -> Iterator[Check]:
    for where, ref in _secret_refs(cfg):
        try:
            resolved[where] = resolve_secret(ref)
        except FailstreakError as e:
            yield Check(f"secret {where}", FAIL, _first_line(e))
            continue
        yield Check(f"secret {where}", OK, f"{ref.describe()} resolved")


def _slack(cfg: Config, resolved: dict[str, str]) -> Iterator[Check]:
    slack = cfg.notify.slack
    if slack is None:
        return
    if slack.webhook_url is not None:
        yield Check("slack", NOT_CHECKED, "incoming webhook: only a real post would test it")
        return
    token = resolved.get("notify.slack.token")
    if token is None:
        return
    from slack_sdk import WebClient  # noqa: PLC0415
    from slack_sdk.errors import SlackApiError  # noqa: PLC0415

    from failstreak.notifiers.slack import DEFAULT_BASE_URL  # noqa: PLC0415

    client = WebClient(token=token, base_url=slack.base_url or DEFAULT_BASE_URL, timeout=int(slack.timeout_seconds))
    try:
        answer = client.auth_test()
    except SlackApiError as e:
        yield Check("slack auth.test", FAIL, f"Slack answered {e.response.get('error')!r}")
        return
    except Exception as e:  # a network failure: say so in one line, never a traceback
        yield Check("slack auth.test", FAIL, f"cannot reach Slack: {_first_line(e)}")
        return
    who = f"bot {answer.get('user', '?')} in workspace {answer.get('team', '?')}"
    yield Check("slack auth.test", OK, who)
    channels = sorted({c for t in cfg.teams.values() for c in t.slack} | _default_channels(cfg))
    for channel in channels:
        yield Check(
            f"slack channel {channel}",
            NOT_CHECKED,
            "chat:write cannot see channels; invite the bot there (/invite @failstreak)",
        )


def _default_channels(cfg: Config) -> set[str]:
    slack = cfg.notify.slack
    if slack is None:
        return set()
    return {c for c in (slack.default_channel, slack.broadcast_channel) if c}


def _email(cfg: Config) -> Iterator[Check]:
    email = cfg.notify.email
    if email is None:
        return
    if email.transport == "smtp":
        yield Check("email", NOT_CHECKED, f"SMTP {email.smtp.host if email.smtp else '(no smtp: block)'}")
        return
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    # SES's identities are one store for both API versions; this call answers for an address and its domain at once.
    client = boto3.client("ses", region_name=email.region)
    domain = email.sender.rpartition("@")[2]
    try:
        answer = client.get_identity_verification_attributes(Identities=list(dict.fromkeys((email.sender, domain))))
    except (BotoCoreError, ClientError) as e:
        yield Check("ses identity", FAIL, f"cannot look up {email.sender}: {_first_line(e)}")
        return
    found = answer.get("VerificationAttributes", {})
    for identity in (email.sender, domain):
        status = found.get(identity, {}).get("VerificationStatus")
        if status == "Success":
            yield Check("ses identity", OK, f"{identity} is verified for sending")
            return
    pending = {i: a.get("VerificationStatus") for i, a in found.items()}
    if pending:
        states = ", ".join(f"{i} is {s}" for i, s in pending.items())
        yield Check("ses identity", FAIL, f"not verified: {states}")
    else:
        yield Check("ses identity", FAIL, f"neither {email.sender} nor {domain} is an SES identity in this region")


def _state(cfg: Config) -> Iterator[Check]:
    from failstreak.app import wiring  # noqa: PLC0415
    from failstreak.core.model import iso  # noqa: PLC0415
    from failstreak.state.codec import decode  # noqa: PLC0415

    store = wiring.state_store(cfg.state)
    loaded = store.load()
    if loaded.data is None:
        yield Check("state", WARN, f"{store.location} does not exist yet; the first pass creates it")
        return
    state = decode(loaded.data, store.location)
    detail = f"{store.location}: {len(state.jobs)} jobs, updated {iso(state.updated_at)}"
    yield Check("state", OK, detail)
    if state.outbox:
        yield Check("pending notifications", WARN, f"{len(state.outbox)} waiting (failstreak status lists them)")
    if state.dead_letters:
        yield Check("dead letters", WARN, f"{len(state.dead_letters)} given up (failstreak status lists them)")


def _inbox(cfg: Config) -> Iterator[Check]:
    from failstreak.app import wiring  # noqa: PLC0415
    from failstreak.app.preflight import inbox_warnings  # noqa: PLC0415

    if not cfg.inbox:
        yield Check("inbox", OK, "none configured (sources only)")
        return
    warnings = inbox_warnings(cfg)
    if warnings:
        yield Check("inbox", WARN, warnings[0])
        return
    pending = wiring.inbox(cfg.inbox).pending()
    yield Check("inbox", OK, f"{cfg.inbox}: {len(pending)} files waiting")


def _owners(cfg: Config) -> Iterator[Check]:
    from failstreak.app.config import read_text  # noqa: PLC0415
    from failstreak.app.routing import parse_owners, unknown_teams  # noqa: PLC0415

    if cfg.owners:
        rules = parse_owners(read_text(cfg.owners), cfg.owners)
        yield Check("owners", OK, f"{cfg.owners}: {len(rules)} rules")
        for warning in unknown_teams(rules, cfg, cfg.owners):
            yield Check("owners", WARN, warning)
    kinds = [k for k, on in (("slack", cfg.notify.slack is not None), ("email", cfg.notify.email is not None)) if on]
    for name, team in sorted(cfg.teams.items()):
        if kinds and not any(getattr(team, k) for k in kinds):
            yield Check(f"team {name}", WARN, f"no {' or '.join(kinds)} destination; its alerts go to the defaults")


def _sources(cfg: Config) -> Iterator[Check]:
    from failstreak.app import wiring  # noqa: PLC0415

    for source in wiring.sources(cfg):
        yield Check(f"source {source.name}", OK, "valid (not called: a pass reads it)")


def _guarded(name: str, checks: Callable[[], Iterator[Check]]) -> Iterator[Check]:
    """The checks of one kind; an error any of them raises becomes that kind's failing line."""
    try:
        yield from checks()
    except FailstreakError as e:
        yield Check(name, FAIL, _first_line(e))
    except OSError as e:
        yield Check(name, FAIL, f"{getattr(e, 'filename', '') or ''}: {e.strerror or e}".lstrip(": "))


def run_checks(location: str | None) -> list[Check]:
    """Every check of the config at `location` (default: $FAILSTREAK_CONFIG, else the local default)."""
    try:
        cfg = load_config(location)
    except ConfigError as e:
        return [Check("config", FAIL, line) for line in str(e).splitlines() or [type(e).__name__]]
    except FailstreakError as e:
        return [Check("config", FAIL, _first_line(e))]
    out = [Check("config", OK, f"{cfg.source} is valid")]
    out.extend(Check("config", WARN, f"{w}: it can never fire") for w in cfg.unreachable_cumulative())
    out.extend(Check("config", WARN, w) for w in cfg.flaky_digest_unsent())
    resolved: dict[str, str] = {}
    kinds: list[tuple[str, Callable[[], Iterator[Check]]]] = [
        ("secrets", lambda: _secrets(cfg, resolved)),
        ("slack", lambda: _slack(cfg, resolved)),
        ("ses identity", lambda: _email(cfg)),
        ("state", lambda: _state(cfg)),
        ("inbox", lambda: _inbox(cfg)),
        ("owners", lambda: _owners(cfg)),
        ("sources", lambda: _sources(cfg)),
    ]
    for name, checks in kinds:
        out.extend(_guarded(name, checks))
    return out
