"""The life of a network, run the way its people run it: the network authority and every member's operator use
`hotline-node` commands only (each a process of its own), and the hotlines' staff use the integrator gRPC API
of the running nodes through a generic client that learns the API from the node by server reflection
(tests/reflect_client.py). Nothing of the project is imported here: a test checks it, in a process of its own.

Two custodians in separate key folders draft, cosign and finalize every roster version; three members start,
exchange referrals and status updates, one is suspended (it hears so in a signed refusal, and what waits for
it or from it is held with the reason shown) and reinstated, one rotates every kind of key (TLS included)
while it runs, a fourth joins, one is revoked with a fallback that re-routes its queued referral and its
country, and a roster expires and is renewed. At every step each referral and status update in flight
arrives exactly once.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.reflect_client import ReflectClient

COUNTRIES = {"nl-hotline": "NL", "de-hotline": "DE", "fr-hotline": "FR", "be-hotline": "BE"}
ILLEGAL = {
    "classification": "CLASSIFICATION_NATIONAL",
    "age_group": "AGE_GROUP_PREPUBESCENT",
    "gender": "GENDER_FEMALE",
    "content_type": "CONTENT_TYPE_IMAGE",
    "site_type": "SITE_TYPE_IMAGE_HOST",
    "commerciality": "COMMERCIALITY_NON_COMMERCIAL",
}
INTAKE, CASES = "hotline.node.v1.IntakeService", "hotline.node.v1.CaseService"


def cli(*args: str | Path, code: int = 0) -> str:
    """Run `hotline-node ARGS` as its own process; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "node.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HX_LOG_FORMAT": "json"},
        check=False,
    )
    assert done.returncode == code, f"hotline-node {' '.join(map(str, args))}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(what: str, check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds:g} s for {what}")


class Member:
    """A member hotline: its config, key folder, roster entry, API token and `serve` process."""

    def __init__(self, tmp: Path, node_id: str) -> None:
        self.id, self.country = node_id, COUNTRIES[node_id]
        self.dir = tmp / node_id
        self.dir.mkdir()
        self.config = self.dir / "node.toml"
        self.roster_file = self.dir / "roster.signed"
        self.log = self.dir / "serve.log"
        self.api_port = _free_port()
        static = "".join(
            f'[[hosting.static]]\nhost = "files.host-{c.lower()}.example"\ncountry = "{c}"\n'
            for c in COUNTRIES.values()
        )
        self.config.write_text(
            f'[node]\nid = "{node_id}"\njurisdiction = "{self.country}"\n'
            f'database_url = "sqlite+pysqlite:///{self.dir}/node.db"\nlisten = "127.0.0.1:{self.api_port}"\n'
            f'[hosting]\nresolver = "static"\n{static}'
            f'[exchange]\nlisten = "127.0.0.1:{_free_port()}"\nroster_file = "{self.roster_file}"\n'
            f'key_dir = "{self.dir}/keys"\nroster_check_seconds = 1\n'
        )
        self.entry = self.dir / "entry.json"
        self.entry.write_text(cli("roster", "member-entry", "-c", self.config))
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.channel: grpc.Channel | None = None
        self.api: ReflectClient | None = None

    def start(self) -> None:
        if not self.token:
            self.token = cli(
                "create-token", "--name", "staff", "--role", "intake", "--role", "analyst", "-c", self.config
            ).split()[-1]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "serve", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HX_LOG_FORMAT": "json"},
            )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.api_port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.api = ReflectClient(self.channel, (("authorization", f"Bearer {self.token}"),))

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        if self.channel is not None:
            self.channel.close()
            self.channel, self.api = None, None

    # ------------------------------------------------------------------ the staff, through the API

    def _call(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        assert self.api is not None, f"{self.id} is not running"
        return self.api.call(method, request)

    def refer(self, country: str) -> str:
        """Report a URL hosted in `country` and assess it illegal; the new item's id."""
        url = f"https://files.host-{country.lower()}.example/{uuid.uuid4().hex[:12]}"
        report = self._call(
            f"{INTAKE}/SubmitReport",
            {"request_id": str(uuid.uuid4()), "urls": [{"url": url}], "reporter": {"anonymous": True}},
        )
        item_id: str = report["report"]["items"][0]["item_id"]
        self._call(f"{CASES}/AssessItem", {"item_id": item_id, "assessment": ILLEGAL})
        return item_id

    def item(self, item_id: str) -> dict[str, Any]:
        """The item, in the JSON mapping: a field left unset (e.g. lea_notified_at) is absent."""
        item: dict[str, Any] = self._call(f"{CASES}/GetItem", {"item_id": item_id})["item"]
        return item

    def received(self, origin_item_id: str) -> list[dict[str, Any]]:
        """The items here that another member referred as `origin_item_id`."""
        items = self._call(f"{CASES}/ListItems", {"page_size": 500}).get("items", [])
        return [i for i in items if i.get("origin_item_id") == origin_item_id]

    def notify_lea(self, item_id: str) -> None:
        """Assess a received item illegal and notify the police."""
        self._call(f"{CASES}/AssessItem", {"item_id": item_id, "assessment": ILLEGAL})
        self._call(f"{CASES}/RecordAction", {"item_id": item_id, "type": "ACTION_TYPE_LEA_NOTIFIED"})

    # ------------------------------------------------------------------ the operator, through the CLI

    def logged(self, event: str, **fields: object) -> bool:
        """Whether the running node has logged `event` with `fields`."""
        for line in self.log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
                return True
        return False

    def adopted(self, version: int) -> None:
        """Wait until the running node trusts roster `version` (it checks every second)."""
        wait_until(
            f"{self.id} to adopt roster version {version}", lambda: self.logged("roster.trusted", version=version)
        )

    def peers(self) -> str:
        return cli("peers", "-c", self.config)


class Authority:
    """Two custodians, each with their own key folder; every version needs both signatures."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.custodians = []
        for name in ("alice", "bob"):
            folder = tmp / name
            folder.mkdir(mode=0o700)
            cli("roster", "authority-key", folder / "key.pem")
            self.custodians.append(folder)
        self.versions: list[Path] = []

    def sign(self, members: list[Member], *options: str) -> Path:
        """Draft the next version of `members`' entries, cosign it in each custodian's folder, finalize."""
        n = len(self.versions) + 1
        draft, out = self.tmp / f"roster-v{n}.draft", self.tmp / f"roster-v{n}.signed"
        previous = ["--previous", str(self.versions[-1])] if self.versions else []
        keys = (
            [] if previous else ["--threshold", "2", *[f"--authority-key={c / 'key.pem.pub'}" for c in self.custodians]]
        )
        cli("roster", "draft", *[m.entry for m in members], "--out", draft, *keys, *previous, *options)
        copies = []
        for folder in self.custodians:
            copy = folder / draft.name
            shutil.copy(draft, copy)
            cli("roster", "cosign", copy, "--key", folder / "key.pem", *previous)
            copies.append(copy)
        cli("roster", "finalize", *copies, "--out", out, *previous)
        self.versions.append(out)
        return out


@pytest.fixture
def members(tmp_path: Path) -> Iterator[dict[str, Member]]:
    made: dict[str, Member] = {}
    yield made
    for member in made.values():
        member.stop()


@pytest.mark.timeout(300)  # about a minute on an idle machine: some sixty commands, each a process
def test_a_network_lives_through_the_cli_and_every_message_arrives_exactly_once(
    tmp_path: Path, members: dict[str, Member]
) -> None:
    authority = Authority(tmp_path)
    for node_id in ("nl-hotline", "de-hotline", "fr-hotline"):
        members[node_id] = Member(tmp_path, node_id)
    nl, de, fr = members["nl-hotline"], members["de-hotline"], members["fr-hotline"]
    referred: dict[str, Member] = {}  # origin item id (at nl) -> the member it must reach

    def apply(version: Path, to: list[Member]) -> None:
        """The origin's operator runs `roster apply`; the others' roster files are replaced (a running node
        polls its file). Every running member then adopts the version without a restart."""
        n = int(version.name.removeprefix("roster-v").removesuffix(".signed"))
        applied = json.loads(cli("roster", "apply", version, "-c", nl.config, "--json"))
        assert (applied["ok"], applied["version"]) == (True, n)  # or it came from a peer already: not installed
        for member in to:
            if member is not nl:
                shutil.copy(version, member.roster_file)
        for member in to:
            if member.process is not None:
                member.adopted(n)

    def arrives(origin_id: str, at: Member) -> Any:
        referred[origin_id] = at
        (item,) = wait_until(f"{origin_id} at {at.id}", lambda: at.received(origin_id))
        return item

    def status_comes_back(origin_id: str, at: Member) -> None:
        """The receiver notifies its police; the origin hears of it, once."""
        at.notify_lea(arrives(origin_id, at)["item_id"])
        wait_until(f"the status of {origin_id}", lambda: "lea_notified_at" in nl.item(origin_id))

    # Version 1: three members; the roster file ships with each node.
    v1 = authority.sign([nl, de, fr])
    for member in (nl, de, fr):
        shutil.copy(v1, member.roster_file)
        member.start()
    status_comes_back(nl.refer("DE"), de)
    arrives(nl.refer("FR"), fr)

    # de-hotline is suspended (version 2) while a referral to it waits at nl-hotline (de-hotline was down) and
    # a status update for nl-hotline waits at de-hotline (nl-hotline is down). nl-hotline's operator applies
    # version 2; de-hotline, still on version 1, calls nl-hotline and gets a signed refusal: it shows the
    # reason, fetches version 2 from nl-hotline and holds its messages. Both wait with the reason shown.
    before = arrives(nl.refer("DE"), de)
    de.stop()
    queued = nl.refer("DE")
    nl.stop()
    de.start()
    de.notify_lea(before["item_id"])
    apply(authority.sign([nl, de, fr], "--status", "de-hotline=suspended"), [nl, fr])
    nl.start()
    wait_until("the signed refusal", lambda: de.logged("exchange.refused_by_peer", code="SENDER_SUSPENDED"))
    de.adopted(2)
    assert "SENDER_SUSPENDED: de-hotline is suspended in roster version 2" in de.peers()
    assert "held: MEMBER_SUSPENDED: de-hotline is suspended in roster version 2" in nl.peers()
    assert not de.received(queued) and "lea_notified_at" not in nl.item(before["origin_item_id"])
    apply(authority.sign([nl, de, fr]), [nl, de, fr])  # version 3 reinstates it: what waited goes, once
    wait_until("the held status update", lambda: "lea_notified_at" in nl.item(before["origin_item_id"]))
    status_comes_back(queued, de)

    # de-hotline rotates every kind of key while it runs; it keeps the old ones until version 4 lists the new.
    old_entry = json.loads(de.entry.read_text())
    de.entry.write_text(cli("keys", "rotate", "-c", de.config))
    new_entry = json.loads(de.entry.read_text())
    assert new_entry["tls_cert_sha256"] != old_entry["tls_cert_sha256"]
    in_flight = nl.refer("DE")
    apply(authority.sign([nl, de, fr]), [nl, de, fr])
    status_comes_back(in_flight, de)
    status_comes_back(nl.refer("DE"), de)
    shown = json.loads(cli("roster", "show", "--trusted", "--json", "-c", nl.config))
    listed = next(m for m in shown["members"] if m["node_id"] == "de-hotline")
    assert listed["tls_cert_sha256"] == new_entry["tls_cert_sha256"]
    assert [c["sha256"] for c in listed["previous_tls_certs"]] == [old_entry["tls_cert_sha256"]]

    # A fourth member joins (version 5): its roster file is the new version; the others apply it.
    members["be-hotline"] = be = Member(tmp_path, "be-hotline")
    v5 = authority.sign([nl, de, fr, be])
    shutil.copy(v5, be.roster_file)
    apply(v5, [nl, de, fr])
    be.start()
    status_comes_back(nl.refer("BE"), be)

    # fr-hotline is revoked (version 6); its country falls back to de-hotline. A referral queued for it while
    # it was down is re-routed there (an event at the origin), and so are new FR referrals.
    fr.stop()
    stranded = nl.refer("FR")
    revoking = ["--status", "fr-hotline=revoked", "--fallback", "refer", "--fallback-node", "de-hotline"]
    apply(authority.sign([nl, de, fr, be], *revoking), [nl, de, be])
    wait_until("the re-routing", lambda: nl.item(stranded).get("referred_to") == "de-hotline")
    status_comes_back(stranded, de)
    rerouted = nl.refer("FR")
    assert nl.item(rerouted).get("referred_to") == "de-hotline"
    status_comes_back(rerouted, de)

    # Version 7 expires within seconds (0.00025 days: 21.6 s, time to sign and apply it on a busy machine):
    # messages wait, with the reason; version 8 renews the roster, and they go.
    apply(authority.sign([nl, de, fr, be], "--status", "fr-hotline=revoked", "--valid-days", "0.00025"), [nl, de, be])
    wait_until("version 7 to expire", lambda: nl.logged("roster.expired", code="ROSTER_EXPIRED"), seconds=40)
    waiting = nl.refer("DE")
    assert "held: ROSTER_EXPIRED: roster version 7 expired at" in nl.peers()
    apply(authority.sign([nl, de, fr, be], "--status", "fr-hotline=revoked"), [nl, de, be])
    status_comes_back(waiting, de)

    # Exactly once, everywhere: one item at its receiver for each referral, one LEA notice back.
    for origin_id, at in referred.items():
        if at.process is not None:  # fr-hotline, stopped, was counted when its referral arrived
            assert len(at.received(origin_id)) == 1, origin_id


def test_the_life_test_imports_nothing_of_the_project() -> None:
    """The life test drives the network as its people do: through `hotline-node` processes and the gRPC API. In a
    fresh interpreter, importing it (and its reflection client) loads no module of `node` or `simulator`, and
    no import statement anywhere in either file, inside a function included, names one."""
    root = Path(__file__).parents[1]
    probe = (
        "import sys, tests.test_network_life_cli, tests.reflect_client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('node', 'simulator')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    for path in (Path(__file__), root / "tests" / "reflect_client.py"):
        for statement in ast.walk(ast.parse(path.read_text())):
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom):
                names = [statement.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] in ("node", "simulator")], (path.name, names)
