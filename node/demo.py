"""`make demo` until the simulator exists: one node on SQLite, driven through its gRPC API from intake to
removal, with a clock the demo moves forward so that three days pass in a moment.

Every URL is synthetic, under reserved domains; every address is from a documentation range.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.app import build_node
from node.cases.model import Role
from node.clock import ManualClock
from node.config import parse_config
from node.hosting import HostingFacts, StaticResolver
from node.logs import configure_logging

__all__ = ["DEMO_HOSTING", "run_demo"]

KNOWN_SHA256 = "9f2b" * 16
DEMO_HOSTING = {
    "images.host-nl.example": HostingFacts("192.0.2.10", "NL", 64500, "Example Hosting NL B.V.", False, "static"),
    "files.host-de.example": HostingFacts("198.51.100.20", "DE", 64501, "Beispiel Hosting GmbH", False, "static"),
    "pics.host-br.example": HostingFacts("203.0.113.30", "BR", 64502, "Exemplo Hospedagem Ltda", False, "static"),
}


def _config(db: Path) -> dict[str, object]:
    return {
        "node": {
            "id": "nl-demo-hotline",
            "jurisdiction": "NL",
            "database_url": f"sqlite+pysqlite:///{db}",
            "listen": "127.0.0.1:0",
            "deadline_check_seconds": 0.1,
        },
        "membership": {
            "fallback": "direct",
            "members": [{"node_id": "de-demo-hotline", "jurisdictions": ["DE"]}],
        },
    }


async def run_demo(workdir: Path | None = None, out: list[str] | None = None) -> dict[str, str]:
    """Run the demo; returns the final state of each item by URL. Lines go to stdout (and `out`)."""
    lines = out if out is not None else []

    def say(text: str = "") -> None:
        lines.append(text)
        print(text, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        db = (workdir or Path(tmp)) / "nl-demo-hotline.db"
        if db.exists():
            db.unlink()
        clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        node = build_node(parse_config(_config(db), {}), clock=clock, resolver=StaticResolver(DEMO_HOSTING))
        # The report form runs the hotline's own hashing tool: its token holds the hasher role too.
        roles = {Role.INTAKE: [Role.INTAKE, Role.HASHER], **{r: [r] for r in (Role.ANALYST, Role.LEA, Role.ADMIN)}}
        tokens = {role: node.access.create_token("operator", f"demo-{role}", held)[1] for role, held in roles.items()}
        port = await node.start()
        target = f"127.0.0.1:{port}"
        say(f"node nl-demo-hotline (NL) serving on {target}, database {db}")
        clients = {role: NodeClient(target, token) for role, token in tokens.items()}
        intake, analyst, lea, admin = (clients[r] for r in (Role.INTAKE, Role.ANALYST, Role.LEA, Role.ADMIN))
        try:
            return await _drive(say, clock, intake, analyst, lea, admin)
        finally:
            for client in clients.values():
                await client.close()
            await node.stop()


async def _drive(
    say: Callable[[str], None],
    clock: ManualClock,
    intake: NodeClient,
    analyst: NodeClient,
    lea: NodeClient,
    admin: NodeClient,
) -> dict[str, str]:
    def hours(n: float) -> None:
        clock.advance(timedelta(hours=n))

    say("\n1. An admin imports a known-hash list (hashes other hotlines already classified).")
    imported = await admin.admin.ImportKnownHashes(
        admin_pb.ImportKnownHashesRequest(
            request_id="demo-import-1",
            source="demo shared list",
            hashes=[
                admin_pb.KnownHash(
                    hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN_SHA256),
                    classification=pb.CLASSIFICATION_BASELINE,
                )
            ],
        )
    )
    say(f"   imported {imported.imported} hash(es)")

    say("\n2. The public report form submits four reports.")
    urls = {
        "known": "https://images.host-nl.example/gallery/0001.jpg",
        "domestic": "http://IMAGES.host-nl.example:80/a/../album/7?id=42#top",
        "abroad": "https://files.host-de.example/f/abc123",
        "no-member": "https://pics.host-br.example/p/9",
        "not-illegal": "https://images.host-nl.example/holiday/beach.jpg",
    }
    sha = pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN_SHA256)
    reports = [
        [intake_pb.ReportedUrl(url=urls["known"], hashes=[sha]), intake_pb.ReportedUrl(url=urls["domestic"])],
        [intake_pb.ReportedUrl(url=urls["abroad"]), intake_pb.ReportedUrl(url=urls["no-member"])],
        [intake_pb.ReportedUrl(url=urls["not-illegal"])],
        # A repeat report of the domestic URL, written differently: it joins the open item.
        [intake_pb.ReportedUrl(url="http://images.host-nl.example/album/7?id=42")],
    ]
    item_ids: dict[str, str] = {}
    for n, reported in enumerate(reports, 1):
        response = await intake.intake.SubmitReport(
            intake_pb.SubmitReportRequest(
                request_id=f"demo-report-{n}", urls=reported, reporter=pb.Reporter(anonymous=True)
            )
        )
        for reported_item in response.report.items:
            # The reply says only ids (not whether the URL was known before); the demo knows its own URLs.
            known_ids = set(item_ids.values())
            key = next(k for k, u in urls.items() if _same(u, reported_item.url))
            item_ids.setdefault(key, reported_item.item_id)
            joined = "joined the open item" if reported_item.item_id in known_ids else "new item"
            # The reply says nothing about known content (it would be an oracle): the analyst's view does.
            item = (await analyst.cases.GetItem(case_pb.GetItemRequest(item_id=reported_item.item_id))).item
            known = ", known content: classified automatically" if item.known_content else ""
            say(
                f"   report {n}: {reported_item.url} -> item …{reported_item.item_id[-8:]} ({joined}{known}) "
                f"{pb.ItemState.Name(item.state)}"
            )
        hours(0.5)

    say("\n3. An analyst assesses the items that need a person.")
    illegal = pb.Assessment(
        classification=pb.CLASSIFICATION_NATIONAL,
        age_group=pb.AGE_GROUP_PREPUBESCENT,
        gender=pb.GENDER_FEMALE,
        content_type=pb.CONTENT_TYPE_IMAGE,
        site_type=pb.SITE_TYPE_IMAGE_HOST,
        commerciality=pb.COMMERCIALITY_NON_COMMERCIAL,
    )
    for key in ("domestic", "abroad", "no-member"):
        item = (
            await analyst.cases.AssessItem(case_pb.AssessItemRequest(item_id=item_ids[key], assessment=illegal))
        ).item
        say(
            f"   {key:11} NATIONAL, hosted {item.hosting.country}: {pb.Route.Name(item.route)} -> "
            f"{pb.ItemState.Name(item.state)}"
        )
    item = (
        await analyst.cases.AssessItem(
            case_pb.AssessItemRequest(
                item_id=item_ids["not-illegal"], assessment=pb.Assessment(classification=pb.CLASSIFICATION_NOT_ILLEGAL)
            )
        )
    ).item
    say(f"   not-illegal NOT_ILLEGAL -> {pb.ItemState.Name(item.state)}")
    hours(1)

    say("\n4. Domestic flow: LEA notice, an LEA hold, NTD, removal.")
    for key in ("known", "domestic", "no-member"):
        await analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_ids[key], type=pb.ACTION_TYPE_LEA_NOTIFIED)
        )
    until = Timestamp()
    until.FromDatetime(clock.now() + timedelta(hours=12))
    await lea.lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_ids["domestic"], until=until, reference="LEA-DEMO-17"))
    say("   the LEA placed a 12-hour hold on the domestic item")
    try:
        await analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_ids["domestic"], type=pb.ACTION_TYPE_HP_NOTIFIED)
        )
    except grpc.aio.AioRpcError as error:
        say(f"   NTD refused while the hold runs: {error.code().name}: {error.details()}")
    for key in ("known", "no-member"):
        await analyst.cases.RecordAction(
            case_pb.RecordActionRequest(item_id=item_ids[key], type=pb.ACTION_TYPE_HP_NOTIFIED)
        )
    hours(6)
    await lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_ids["domestic"]))
    say("   the LEA released the hold early; the NTD goes out")
    await analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_ids["domestic"], type=pb.ACTION_TYPE_HP_NOTIFIED)
    )
    hours(20)
    await analyst.cases.RecordAction(
        case_pb.RecordActionRequest(
            item_id=item_ids["known"], type=pb.ACTION_TYPE_CONTENT_REMOVED, note="hosting provider confirmed"
        )
    )
    await analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_ids["domestic"], type=pb.ACTION_TYPE_CONTENT_REMOVED)
    )
    say("   26 hours later: two items removed")

    say("\n5. The foreign hosting provider is slow: 72 hours pass and the deadline escalates.")
    hours(60)
    for _ in range(100):  # the scheduler's deadline job notices on its own, within a tick
        item = (await analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_ids["no-member"]))).item
        if item.escalated:
            break
        await asyncio.sleep(0.05)
    say(f"   no-member item escalated: {item.escalated}")
    hours(30)
    await analyst.cases.RecordAction(
        case_pb.RecordActionRequest(item_id=item_ids["no-member"], type=pb.ACTION_TYPE_CONTENT_UNAVAILABLE)
    )

    say("\n6. Each case's timeline:")
    final: dict[str, str] = {}
    for key, item_id in item_ids.items():
        item = (await analyst.cases.GetItem(case_pb.GetItemRequest(item_id=item_id))).item
        final[key] = pb.ItemState.Name(item.state)
        say(f"\n   [{key}] item {item_id}  {item.url}")
        timeline = await analyst.cases.GetItemTimeline(case_pb.GetItemTimelineRequest(item_id=item_id))
        for event in timeline.events:
            at = event.occurred_at.ToDatetime().strftime("%a %d %b %H:%M")
            say(f"      {at}  {event.kind:22} {event.detail}")

    stats = (await analyst.events.GetStatistics(event_pb.GetStatisticsRequest())).overall
    say("\n7. Statistics:")
    say(
        f"   items {stats.item_count}; removed {stats.removed_count}; of the {stats.illegal_count} illegal, "
        f"{stats.removed_within_72h_share:.0%} removed within 72 h"
    )
    say(
        f"   report -> LEA median {stats.report_to_lea.median_seconds / 3600:.1f} h; "
        f"report -> removal median {stats.report_to_removal.median_seconds / 3600:.1f} h, "
        f"p90 {stats.report_to_removal.p90_seconds / 3600:.1f} h"
    )
    say("   the referral to de-demo-hotline waits in the outbox for the federation layer")
    return final


def _same(raw: str, normalised: str) -> bool:
    from node.cases.urls import normalise_url

    return normalise_url(raw).url == normalised


def main() -> None:
    configure_logging("console", logging.WARNING)
    asyncio.run(run_demo())
