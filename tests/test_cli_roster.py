"""`hotline-node roster ...` as an authority and a member use it: two custodians in separate key folders draft,
cosign and finalize a roster; a node applies the next version and shows it; every refusal as the user sees it."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli import app
from tests.exchange.test_two_nodes import _free_port
from tests.serving import serving
from tests.test_cli_keys import node_config

runner = CliRunner()
COUNTRIES = {"nl-hotline": "NL", "de-hotline": "DE", "fr-hotline": "FR"}


def run(*args: str | Path, code: int = 0) -> str:
    """What the command prints: its standard output, or for a failure without one, the last line on standard
    error (the refusal; log lines come before it)."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    if code == 0 or result.stdout.strip():
        return result.stdout.strip()
    return result.stderr.strip().splitlines()[-1]


class Network:
    """Member entries, three custodians' key folders (a threshold of two) and version 1, finalized."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.entries: dict[str, Path] = {}
        for node_id, country in COUNTRIES.items():
            entry = tmp / f"{node_id}.json"
            entry.write_text(run("roster", "member-entry", "-c", node_config(tmp, node_id, country)))
            self.entries[node_id] = entry
        self.custodians: dict[str, Path] = {}
        for name in ("alice", "bob", "carol"):
            folder = tmp / name
            folder.mkdir(mode=0o700)
            out = run("roster", "authority-key", folder / "key.pem")
            assert out.startswith(f"wrote {folder / 'key.pem'} (keep it here) and {folder / 'key.pem.pub'}")
            self.custodians[name] = folder
        self.config = node_config(tmp, "nl-hotline", "NL")  # its roster_file is tmp/roster.signed
        run("migrate", "-c", self.config)  # as an install does: the roster commands need the node's database
        pubs = [f"--authority-key={f / 'key.pem.pub'}" for f in self.custodians.values()]
        self.v1 = self.ceremony("roster.signed", ["--threshold", "2", *pubs])

    def draft(self, out: str, *options: str | Path, members: list[str] | None = None, code: int = 0) -> str:
        entries = [self.entries[m] for m in members or list(COUNTRIES)]
        return run("roster", "draft", *entries, "--out", self.tmp / out, *options, code=code)

    def cosign(self, draft: str, name: str, *options: str | Path, code: int = 0) -> Path:
        """The custodian gets a copy of the draft in their own folder and signs it there."""
        copy = self.custodians[name] / draft
        shutil.copy(self.tmp / draft, copy)
        run("roster", "cosign", copy, "--key", self.custodians[name] / "key.pem", *options, code=code)
        return copy

    def ceremony(self, out: str, draft_options: list[str], previous: Path | None = None) -> Path:
        prev = ["--previous", previous] if previous is not None else []
        self.draft(f"{out}.draft", *draft_options, *prev)
        copies = [self.cosign(f"{out}.draft", name, *prev) for name in ("alice", "bob")]
        run("roster", "finalize", *copies, "--out", self.tmp / out, *prev)
        return self.tmp / out


@pytest.fixture
def network(tmp_path: Path) -> Network:
    return Network(tmp_path)


def shown(*args: str | Path) -> dict[str, object]:
    view: dict[str, object] = json.loads(run("roster", "show", *args, "--json"))
    return view


def test_draft_cosign_finalize_apply_show_verify(network: Network) -> None:
    v1 = shown(network.v1)
    assert v1["version"] == 1 and len(v1["signatures"]) == 2  # type: ignore[arg-type]
    assert [m["node_id"] for m in v1["members"]] == list(COUNTRIES)  # type: ignore[attr-defined,index]
    assert shown("--trusted", "-c", network.config)["digest"] == v1["digest"]  # the node trusts it on first use

    v2 = network.ceremony(
        "roster-v2.signed", ["--status", "de-hotline=suspended", "--designate", "fr=fr-hotline"], network.v1
    )
    assert run("roster", "verify", v2, "--previous", network.v1).startswith("version 2 verifies")
    assert run("roster", "verify", v2, "-c", network.config) == (
        "version 2 verifies as the next version after 1: `roster apply` it"
    )
    assert run("roster", "apply", v2, "-c", network.config).startswith("installed roster version 2 (was 1)")
    assert (
        run("roster", "apply", v2, "-c", network.config) == "roster version 2 is already the trusted one; nothing to do"
    )
    trusted = shown("--trusted", "-c", network.config)
    members = {m["node_id"]: m for m in trusted["members"]}  # type: ignore[attr-defined]
    assert trusted["version"] == 2 and members["de-hotline"]["status"] == "suspended"
    assert members["fr-hotline"]["designated_for"] == ["FR"]
    text = run("roster", "show", "--trusted", "-c", network.config)
    assert "de-hotline [suspended]" in text and "authority: 2 of 3 key(s)" in text

    # Refusals, as the member's operator sees them (exit 1, the reason first).
    refused = run("roster", "apply", network.v1, "-c", network.config, code=1)
    assert refused == "refused: ROLLBACK: version 1 is older than the trusted 2"
    answer = json.loads(run("roster", "apply", network.v1, "-c", network.config, "--json", code=1))
    assert answer == {"ok": False, "reason": "ROLLBACK", "message": "version 1 is older than the trusted 2"}

    v3 = network.ceremony("roster-v3.signed", [], v2)
    v4 = network.ceremony("roster-v4.signed", [], v3)
    assert run("roster", "apply", v4, "-c", network.config, code=1) == (
        "refused: NOT_NEXT: version 4 is not the next version after version 2: 3 is"
    )
    one = network.cosign("roster-v3.signed.draft", "carol", "--previous", v2)  # one custodian's signature only
    assert run("roster", "apply", one, "-c", network.config, code=1) == (
        "refused: THRESHOLD: 1 valid authority signature(s); 2 are needed"
    )
    forged = bytearray(v3.read_bytes())
    forged[-3] ^= 1  # inside the last signature
    (network.tmp / "forged.signed").write_bytes(bytes(forged))
    refused = run("roster", "apply", network.tmp / "forged.signed", "-c", network.config, code=1)
    assert refused.startswith("refused: BAD_SIGNATURE: the signature(s) of ed25519:")
    (network.tmp / "truncated.signed").write_bytes(v3.read_bytes()[:40])
    refused = run("roster", "apply", network.tmp / "truncated.signed", "-c", network.config, code=1)
    assert refused == "refused: MALFORMED: not a signed roster"
    assert run("roster", "apply", v3, "-c", network.config).startswith("installed roster version 3 (was 2)")


def test_another_networks_roster_is_refused(network: Network, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = Network(tmp_path / "other")
    v2 = other.ceremony("v2.signed", [], other.v1)
    assert run("roster", "apply", v2, "-c", network.config, code=1) == (
        "refused: THRESHOLD: 0 valid authority signature(s); 2 are needed"
    )


def test_the_draft_refuses_what_could_not_be_trusted_and_says_which(network: Network) -> None:
    tmp = network.tmp
    pubs = [f"--authority-key={f / 'key.pem.pub'}" for f in network.custodians.values()]

    def refused(*options: str | Path, members: list[str] | None = None) -> str:
        return network.draft("bad.draft", *options, members=members, code=1)

    assert refused("--valid-days", "-5", "--previous", network.v1) == (
        "refused: BAD_VALIDITY: the validity must be positive, not -5 day(s)"
    )
    assert refused("--version", "5", "--previous", network.v1) == (
        "refused: NOT_NEXT: version 5 is not the next version after version 1: 2 is"
    )
    assert (
        refused("--version", "0", *pubs)
        == "refused: NOT_NEXT: version 0 is not the next version for a new network: 1 is"
    )
    twice = ["nl-hotline", "nl-hotline", "de-hotline"]
    assert (
        refused("--previous", network.v1, members=twice)
        == "refused: DUPLICATE_NODE: node id nl-hotline is listed twice"
    )
    renamed = json.loads(network.entries["de-hotline"].read_text()) | {"node_id": "de-hotline-2"}
    (tmp / "de-hotline-2.json").write_text(json.dumps(renamed))
    network.entries["de-hotline-2"] = tmp / "de-hotline-2.json"
    assert refused("--previous", network.v1, members=["de-hotline", "de-hotline-2"]) == (
        "refused: DUPLICATE_MEMBER: member de-hotline-2 and member de-hotline share a key or certificate "
        "(one member twice?)"
    )
    keyless = json.loads(network.entries["fr-hotline"].read_text()) | {"hpke_keys": []}
    nowhere = json.loads(network.entries["fr-hotline"].read_text()) | {"jurisdictions": ["XX", "FR"]}
    for name, entry in (("keyless", keyless), ("nowhere", nowhere)):
        (tmp / f"{name}.json").write_text(json.dumps(entry))
        network.entries[name] = tmp / f"{name}.json"
    assert (
        refused("--previous", network.v1, members=["keyless"]) == "refused: NO_KEY: member fr-hotline has no HPKE key"
    )
    assert refused("--previous", network.v1, members=["nowhere"]) == (
        "refused: UNKNOWN_COUNTRY: member fr-hotline's jurisdictions: XX not ISO 3166-1 alpha-2 country codes"
    )
    assert refused("--previous", network.v1, "--status", "xx-hotline=suspended") == (
        "refused: BAD_STATUS: a status for xx-hotline, which has no member entry"
    )
    assert refused("--previous", network.v1, "--designate", "DE=nl-hotline") == (
        "refused: BAD_DESIGNATION: member nl-hotline is designated for DE, outside its jurisdictions"
    )
    assert not (tmp / "bad.draft").exists()


def test_cosign_and_finalize_refusals(network: Network) -> None:
    network.draft("v2.draft", "--previous", network.v1)
    alice = network.cosign("v2.draft", "alice", "--previous", network.v1)
    out = network.tmp / "v2.signed"
    assert run("roster", "finalize", alice, "--out", out, "--previous", network.v1, code=1) == (
        "refused: THRESHOLD: 1 valid authority signature(s); 2 are needed"
    )
    network.draft("other.draft", "--previous", network.v1, "--status", "fr-hotline=provisional")
    shutil.copy(network.tmp / "other.draft", network.custodians["bob"] / "other.draft")
    bob = network.custodians["bob"] / "other.draft"
    run("roster", "cosign", bob, "--key", network.custodians["bob"] / "key.pem")
    assert run("roster", "finalize", alice, bob, "--out", out, "--previous", network.v1, code=1) == (
        "refused: DIFFERENT_DRAFTS: the copies are not of one draft (their roster digests differ)"
    )
    assert run("roster", "finalize", alice, "--out", out, code=1).startswith("refused: NOT_NEXT: version 2")
    assert not out.exists()


def test_cosign_names_a_key_outside_the_authority(network: Network) -> None:
    network.draft("v2.draft", "--previous", network.v1)
    stranger = network.tmp / "stranger"
    stranger.mkdir(mode=0o700)
    key_id = run("roster", "authority-key", stranger / "key.pem").rsplit(" ", 1)[1]
    shutil.copy(network.tmp / "v2.draft", stranger / "v2.draft")
    assert run("roster", "cosign", stranger / "v2.draft", "--key", stranger / "key.pem", code=1) == (
        f"refused: NOT_AUTHORITY: key {key_id} is not in version 2's authority "
        "(give the previous roster if the authority keys change)"
    )


def test_the_roster_group_has_help_and_the_old_commands_still_work(network: Network) -> None:
    for verb in ("apply", "verify", "show", "draft", "cosign", "finalize", "authority-key", "member-entry"):
        assert run("roster", verb, "--help")
    assert "Exit codes:" in run("roster", "--help")
    key = network.custodians["alice"] / "key.pem"
    out = network.tmp / "legacy.signed"
    signed = run(
        "roster-sign", network.entries["nl-hotline"], "--key", key, "--threshold", "1", "--version", "1",
        "--out", out,
    )  # fmt: skip
    assert signed == f"wrote roster version 1 with 1 member(s) to {out}"
    assert run("roster", "verify", out).startswith("version 1 verifies")
    expired = run(
        "roster-sign", network.entries["nl-hotline"], "--key", key, "--threshold", "1", "--version", "1",
        "--out", out, "--valid-days", "-5", code=2,
    )  # fmt: skip
    assert expired.startswith("error: BAD_VALIDITY: version 1 expires at ")


def _log_events(log: Path) -> list[dict[str, object]]:
    events = []
    for line in log.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _wait_for(log: Path, event: str, seconds: float = 30.0, **fields: object) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for logged in _log_events(log):
            if logged.get("event") == event and all(logged.get(k) == v for k, v in fields.items()):
                return logged
        time.sleep(0.2)
    raise AssertionError(f"no {event} {fields} in {log.read_text()[-3000:]}")


def test_a_running_node_adopts_an_applied_version_and_a_newer_roster_file(network: Network) -> None:
    """`hotline-node serve` runs; `roster apply` installs version 2 into its store, and the node adopts it
    without a restart; then the roster file is replaced by version 3, and the node installs that too."""
    config = network.tmp / "running.toml"
    text = network.config.read_text().replace("[node]\n", f'[node]\nlisten = "127.0.0.1:{_free_port()}"\n')
    text = text.replace('listen = "127.0.0.1:50061"', f'listen = "127.0.0.1:{_free_port()}"')
    config.write_text(text + "roster_check_seconds = 1\n")
    log = network.tmp / "serve.log"
    with serving(config, log, {"HX_LOG_FORMAT": "json"}) as process:
        _wait_for(log, "node.started")
        v2 = network.ceremony("v2.signed", ["--status", "de-hotline=suspended"], network.v1)
        assert run("roster", "apply", v2, "-c", config).startswith("installed roster version 2 (was 1)")
        _wait_for(log, "roster.trusted", version=2)
        v3 = network.ceremony("v3.signed", ["--status", "de-hotline=full"], v2)
        replacement = network.tmp / "roster.signed.new"
        replacement.write_bytes(v3.read_bytes())
        replacement.replace(network.tmp / "roster.signed")  # the node's roster_file
        _wait_for(log, "roster.trusted", version=3)
        installed = _wait_for(log, "roster.installed")
        assert str(installed["detail"]).startswith("roster version 3 installed from ")
        assert process.poll() is None
    assert shown("--trusted", "-c", config)["version"] == 3


def test_authority_keys_rotate_and_a_revoked_custodian_signs_nothing(network: Network) -> None:
    """Version 2 replaces carol's key by dave's (public keys only); version 3 then needs two of alice, bob and
    dave: carol cannot cosign it, and a copy carrying her signature does not count."""
    dave = network.tmp / "dave"
    dave.mkdir(mode=0o700)
    run("roster", "authority-key", dave / "key.pem")
    network.custodians["dave"] = dave
    rotated = [f"--authority-key={network.custodians[n] / 'key.pem.pub'}" for n in ("alice", "bob", "dave")]
    v2 = network.ceremony("v2.signed", [*rotated, "--threshold", "2"], network.v1)
    assert run("roster", "apply", v2, "-c", network.config).startswith("installed roster version 2")
    before, after = ({k["key_id"] for k in shown(v)["authority"]["keys"]} for v in (network.v1, v2))  # type: ignore[index]
    assert len(after) == 3 and len(before & after) == 2
    (carol_key,) = before - after
    network.draft("v3.draft", "--previous", v2)
    shutil.copy(network.tmp / "v3.draft", network.custodians["carol"] / "v3.draft")
    carol = ["roster", "cosign", network.custodians["carol"] / "v3.draft", "--previous", v2]
    assert run(*carol, "--key", network.custodians["carol"] / "key.pem", code=1) == (
        f"refused: NOT_AUTHORITY: key {carol_key} is not in version 3's authority or version 2's"
    )
    alice = network.cosign("v3.draft", "alice", "--previous", v2)
    assert run("roster", "finalize", alice, "--out", network.tmp / "v3.signed", "--previous", v2, code=1) == (
        "refused: THRESHOLD: 1 valid authority signature(s); 2 are needed"
    )
    dave_copy = network.cosign("v3.draft", "dave", "--previous", v2)
    run("roster", "finalize", alice, dave_copy, "--out", network.tmp / "v3.signed", "--previous", v2)
    answer = json.loads(run("roster", "verify", network.tmp / "v3.signed", "-c", network.config, "--json"))
    assert answer == {"ok": True, "verdict": "next", "version": 3, "trusted_version": 2}
    answer = json.loads(run("roster", "apply", network.tmp / "v3.signed", "-c", network.config, "--json"))
    assert answer == {"ok": True, "installed": True, "version": 3, "previous_version": 2}
