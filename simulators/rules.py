"""Rules and clock: outcome and submit-time rules per number or suffix, the balance, tokens, and
the simulator's clock (which tests can move forward)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from .core import SimCore
from .wire import OUTCOMES, is_vendor_code


class RulesMixin(SimCore):
    def set_outcome(self, mobile_or_suffix: str, outcome: str) -> None:
        """Delivery outcome for a number, or for every number ending in a suffix.

        The longest matching key wins (a full number is its own longest suffix; ``""``
        matches every number). ``outcome`` is a name of ``OUTCOMES`` or a raw vendor code
        such as ``MA:0029``.
        """
        outcome = str(outcome)
        if outcome not in OUTCOMES and not is_vendor_code(outcome):
            raise ValueError(f"unknown outcome {outcome!r}: use one of {OUTCOMES} or a raw vendor code")
        with self._lock:
            self._outcome_rules[str(mobile_or_suffix)] = outcome

    def set_submit_result(self, mobile_or_suffix: str, code: Any) -> None:
        """Reject matching numbers at submit time with a vendor code.

        action_v1 answers it per recipient (``result``); the other vendors answer a whole
        call with that error code when any of its numbers matches. ``None`` removes the rule.
        """
        with self._lock:
            if code is None:
                self._submit_rules.pop(str(mobile_or_suffix), None)
            else:
                self._submit_rules[str(mobile_or_suffix)] = code

    def clear_rules(self) -> None:
        with self._lock:
            self._outcome_rules.clear()
            self._submit_rules.clear()

    def outcome_for(self, mobile: str) -> str:
        return str(_longest_suffix(self._outcome_rules, mobile, "delivered"))

    def submit_result_for(self, mobile: str) -> Any:
        return _longest_suffix(self._submit_rules, mobile, None)

    def set_balance(self, balance: Any, **details: Any) -> None:
        """Set the balance (in the vendor's unit) and vendor fields such as ``charge_type``."""
        unknown = set(details) - set(self.DEFAULT_BALANCE_DETAILS)
        if unknown:
            raise TypeError(
                f"{self.vendor} balance has no field(s) {sorted(unknown)}; "
                f"known: {sorted(self.DEFAULT_BALANCE_DETAILS)}"
            )
        with self._lock:
            self.balance = balance
            self.balance_details.update(details)

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (a reset secret)."""
        if self.tokens is None:
            raise NotImplementedError(f"{self.vendor} has no tokens: nothing to expire")
        with self._lock:
            self.tokens.expire_all()

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward: due reports fire, tokens and the 30-day
        window of intl_v1 age accordingly."""
        with self._wake:
            self._clock_offset += float(seconds)
            self._wake.notify_all()

    def now(self) -> float:
        return time.time() + self._clock_offset

    def fmt_time(self, epoch: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return datetime.fromtimestamp(epoch, self.tz).strftime(fmt)

    def parse_time(self, text: str, fmt: str) -> float:
        """Vendor local time text -> epoch seconds (raises ValueError when malformed)."""
        parsed = datetime.strptime(text, fmt)
        if parsed.strftime(fmt) != text:  # strptime accepts unpadded fields; vendors do not
            raise ValueError(f"{text!r} does not match {fmt}")
        return parsed.replace(tzinfo=self.tz).timestamp()


def _longest_suffix(rules: dict[str, Any], mobile: str, default: Any) -> Any:
    best = None
    for key in rules:
        if mobile.endswith(key) and (best is None or len(key) > len(best)):
            best = key
    return default if best is None else rules[best]
