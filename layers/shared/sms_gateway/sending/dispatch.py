"""Step 3: one vendor call becomes one verdict per recipient (sms_gateway.failures classifies).

The verdict says what may be done with the recipient next: an answered one is recorded as the
vendor said; one that was not sent may be tried again (on this vendor or, later, another); one that
may have been sent is `unknown` and is never resent to any vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sms_gateway import failures
from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import OutboundItem, Status, Submission, SubmitOutcome
from sms_gateway.observability import logger, metrics
from sms_gateway.sending.ports import SendAdapter


class Verdict(StrEnum):
    ANSWERED = "answered"  # the vendor's answer is known: submitted, or refused for good
    NOT_SENT = "not_sent"  # nothing reached the vendor: safe to try again
    MAYBE_SENT = "maybe_sent"  # the answer was lost after the request left: unknown, never resent
    # Our own error during the call, possibly after the vendor acted: nothing is recorded now and
    # the inflight marks stay, so the next attempt records these recipients `unknown`.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, kw_only=True)
class RecipientResult:
    item: OutboundItem
    verdict: Verdict
    outcome: SubmitOutcome | None = None  # what to record now; None when nothing is
    reason: str = ""  # why nothing was sent (NOT_SENT), for the recipient's attempts

    @property
    def retry(self) -> bool:
        """Its request goes back to the queue for it."""
        return self.verdict in {Verdict.NOT_SENT, Verdict.INTERRUPTED}


def dispatch(adapter: SendAdapter, submission: Submission) -> list[RecipientResult]:
    log = {"account": adapter.account.name, "vendor": adapter.vendor, "recipients": len(submission.items)}
    metrics.add_metric(name="VendorCalls", unit="Count", value=1)
    try:
        outcomes = adapter.submit(submission)
    except VendorUnavailable as exc:
        # Recipients settled by earlier calls of a split submission keep their outcome.
        settled = {(o.message_id, o.recipient) for o in exc.decided}
        rest = [i for i in submission.items if (i.message_id, i.recipient) not in settled]
        decided = _answered(submission, exc.decided)
        if exc.ambiguous:
            logger.warning("vendor outcome unknown; not resending", extra={**log, "reason": exc.reason})
            return decided + [
                RecipientResult(item=item, verdict=Verdict.MAYBE_SENT, outcome=outcome)
                for item, outcome in zip(rest, failures.unknown(rest, exc.reason), strict=True)
            ]
        logger.warning("vendor unavailable; will retry", extra={**log, "reason": exc.reason})
        return decided + [
            RecipientResult(item=item, verdict=Verdict.NOT_SENT, reason=exc.reason) for item in rest
        ]
    except SubmitRejected as exc:
        logger.warning("vendor refused the call", extra={**log, "vendor_status": exc.vendor_status})
        refused = failures.outcomes(submission.items, Status.FAILED, exc.vendor_status, exc.description)
        return _answered(submission, refused)
    except Exception:
        logger.exception("unexpected error while sending", extra=log)
        return [RecipientResult(item=item, verdict=Verdict.INTERRUPTED) for item in submission.items]
    accepted = sum(1 for o in outcomes if o.status is Status.SUBMITTED)
    metrics.add_metric(name="RecipientsSubmitted", unit="Count", value=accepted)
    if accepted < len(outcomes):
        metrics.add_metric(name="RecipientsRefused", unit="Count", value=len(outcomes) - accepted)
    logger.info("vendor call done", extra={**log, "accepted": accepted})
    return _answered(submission, outcomes)


def _answered(
    submission: Submission, outcomes: tuple[SubmitOutcome, ...] | list[SubmitOutcome]
) -> list[RecipientResult]:
    # An outcome about a recipient that is not in this call is the adapter's error: it is dropped.
    items = {(i.message_id, i.recipient): i for i in submission.items}
    return [
        RecipientResult(item=items[(o.message_id, o.recipient)], verdict=Verdict.ANSWERED, outcome=o)
        for o in outcomes
        if (o.message_id, o.recipient) in items
    ]
