"""``make demo``: the whole application on this machine, against all five vendor simulators.

Why it exists: one command that shows the project working end to end with nothing but Python:
the vendor simulators (``simulators/``), the local runner as a subprocess (the real template and
handlers from ``sam build`` on an embedded AWS), and a realistic scenario of about 300
recipients on six accounts of the five vendors (two action_v1 accounts):

* grouped sends (requests with the same content, sign and kind become one vendor call, counted
  on the simulators), an action_v1 ``p2p`` request, template sends (paasw_v1, paasw_v2),
  international numbers in six countries with sender ids (intl_v1);
* scheduled messages: one held in SQS (action_v1 cannot schedule), two scheduled by the vendor
  (paasw_v2 ``time``, intl_v1 ``sendTime``), all due 12 s after they are published;
* a partly failing call (action_v1 answers RESULT 15 for three numbers of one call), and a token
  expiry between two waves of sends (paasw_v1 and paasw_v2 must fetch new tokens);
* reports and MO pushed by some accounts and polled from others, every balance polled, one of
  them (a pre-paid account down to 50 yuan) below its threshold.

Each simulator decides every recipient's outcome: delivered, or a failure its vendor's report
codes can express. The demo follows the bus (the runner's events tap queue) with a live count on
stderr, then prints a summary per vendor, the scenario's checks and the functions' invocations.
It exits 0 only when every recipient reached the final status its simulator decided, with every
event that implies: ``SMS Submitted`` (or ``SMS Submit Failed``), an ``SMS Delivery Report``,
an ``SMS Inbound`` per reply, an ``SMS Balance`` per account and the ``SMS Balance Low``.
Otherwise it lists what is missing and exits 1. The runner's log is kept in
``.aws-sam/demo-runner.log``.
"""
