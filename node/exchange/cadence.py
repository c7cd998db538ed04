"""When this node's referrals leave: at once (the default), or held in the outbox and sent in batches, every
so often or at fixed times of day (`[exchange] referral_batch_seconds`, `referral_batch_times`). Only
referrals wait for a batch; status updates, receipts and everything else go at once. A hotline batches its
referrals to review them before they leave, or because its partners take them in daily batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["ReferralCadence"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReferralCadence:
    """Immediate (the default); every `every` (batch times are whole multiples of it since 1970-01-01
    00:00 UTC: 86400 s is daily at midnight UTC, 21600 s at 00, 06, 12 and 18 UTC); or at the local
    times of day `times` in the time zone `zone`."""

    every: timedelta = timedelta(0)
    times: tuple[time, ...] = ()
    zone: str = "UTC"

    @property
    def immediate(self) -> bool:
        return not self.every and not self.times

    def release_at(self, queued: datetime) -> datetime:
        """When a referral queued at `queued` leaves: the first batch time at or after it."""
        if self.every:
            since = queued - _EPOCH
            batches, rest = divmod(since, self.every)
            return _EPOCH + (batches + (1 if rest else 0)) * self.every
        if self.times:
            zone = ZoneInfo(self.zone)
            local = queued.astimezone(zone)
            for offset in range(3):
                day = local.date() + timedelta(days=offset)
                for at in sorted(self.times):
                    candidate = datetime.combine(day, at, tzinfo=zone)
                    if candidate >= local:
                        return candidate.astimezone(UTC)
        return queued
