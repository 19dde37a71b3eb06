"""Schedule / ScheduleV2 events: the scheduled functions invoked every ``--poll-seconds``.

Why it exists: EventBridge rules and EventBridge Scheduler schedules do not fire in moto (and
moto's CloudFormation does not create AWS::Scheduler::Schedule at all). The schedules are read
from the translated template (AWS::Scheduler::Schedule, or AWS::Events::Rule with a
ScheduleExpression, targeting a function); their expression is shown, but locally each one
fires every ``--poll-seconds`` (a rate(15 minutes) poller is no use on a laptop). A schedule
the template disables stays off. The event is the target's Input when the template sets one,
else the shape ``sam local generate-event cloudwatch scheduled-event`` produces.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from local_runner.stack import Schedule
from local_runner.workers import Functions

log = logging.getLogger("local_runner.schedules")


def scheduled_event(
    schedule: Schedule, region: str, account_id: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    if schedule.source_type == "AWS::Scheduler::Schedule":
        resource = f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{schedule.logical_id}"
    else:
        resource = f"arn:aws:events:{region}:{account_id}:rule/{schedule.logical_id}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": {},
    }


class SchedulePlayer:
    def __init__(
        self,
        schedule: Schedule,
        functions: Functions,
        stop: threading.Event,
        *,
        every_seconds: float,
        region: str,
        account_id: str,
    ) -> None:
        self.schedule = schedule
        self._functions = functions
        self._stop = stop
        self.every = every_seconds
        self._region = region
        self._account_id = account_id
        self._thread = threading.Thread(target=self._run, name=f"schedule-{schedule.logical_id}", daemon=True)

    def describe(self) -> str:
        state = f"every {self.every:g} s locally" if self.schedule.enabled else "DISABLED in the template"
        schedule = self.schedule
        return f"{schedule.function} <- schedule {schedule.logical_id} ({schedule.expression}; {state})"

    def start(self) -> None:
        if self.schedule.enabled:
            self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def event(self) -> Any:
        if self.schedule.input is not None:
            return json.loads(self.schedule.input)
        return scheduled_event(self.schedule, self._region, self._account_id)

    def _run(self) -> None:
        next_tick = time.monotonic() + self.every
        while not self._stop.wait(max(0.0, next_tick - time.monotonic())):
            try:
                self._functions.invoke(
                    self.schedule.function, self.event(), trigger=f"schedule:{self.schedule.logical_id}"
                )
            except Exception:
                log.exception("%s: scheduled invocation failed", self.schedule.logical_id)
            # Fixed rate; ticks missed while the function ran are skipped, not queued up.
            now = time.monotonic()
            next_tick += self.every
            if next_tick < now:
                next_tick = now + self.every
