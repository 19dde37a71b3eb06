"""The control API (``/_sim/...``) for out-of-process use: the same operations as the Python
methods, as JSON over HTTP; a bad control call is a 400 naming the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import SimCore
from .wire import Reply, SimRequest, json_reply


class ControlMixin(SimCore):
    def _control(self, req: SimRequest) -> Reply:
        action = req.path[len("/_sim") :] or "/"
        body = req.json if isinstance(req.json, dict) else {}
        if req.method == "POST" and req.text.strip() and not isinstance(req.json, dict):
            return json_reply({"ok": False, "error": "control API expects a JSON object body"}, 400)
        if req.method == "GET" and action in _GETS:
            return json_reply(_GETS[action](self))
        operation = _POSTS.get(action) if req.method == "POST" else None
        if operation is None:
            return json_reply({"ok": False, "error": f"no control endpoint {req.method} {req.path}"}, 404)
        try:
            return json_reply({"ok": True, **operation(self, body)})
        except KeyError as exc:
            return json_reply({"ok": False, "error": f"missing field {exc}"}, 400)
        except (TypeError, ValueError, NotImplementedError) as exc:
            return json_reply({"ok": False, "error": str(exc)}, 400)

    def _readings_table(self) -> dict[str, Any]:
        return {
            name: {**spec.as_dict(), "chosen": self.readings[name]}
            for name, spec in self.reading_specs().items()
        }


def _mo(sim: SimCore, body: dict[str, Any]) -> dict[str, Any]:
    mo = sim.queue_mo(
        body["mobile"], body["content"], ext_no=body.get("ext_no"), delay=body.get("delay", 0.0)
    )
    return {"mo": mo}


def _fault(sim: SimCore, body: dict[str, Any]) -> dict[str, Any]:
    sim.inject_fault(
        body["kind"],
        count=body.get("count", 1),
        path=body.get("path"),
        seconds=body.get("seconds"),
        then=body.get("then", "answer"),
    )
    return {}


def _done(
    action: Callable[[SimCore, dict[str, Any]], Any],
) -> Callable[[SimCore, dict[str, Any]], dict[str, Any]]:
    """An operation whose answer is only ``{"ok": true}``."""

    def run(sim: SimCore, body: dict[str, Any]) -> dict[str, Any]:
        action(sim, body)
        return {}

    return run


#: GET /_sim/<action> -> its JSON answer
_GETS: dict[str, Callable[[ControlMixin], Any]] = {
    "/state": lambda sim: sim.state(),
    "/received": lambda sim: sim.received,
    "/readings": ControlMixin._readings_table,
}

#: POST /_sim/<action> -> operation(sim, body) -> extra answer fields
_POSTS: dict[str, Callable[[SimCore, dict[str, Any]], dict[str, Any]]] = {
    "/mo": _mo,
    "/fault": _fault,
    "/bad-record": _done(
        lambda sim, body: sim.inject_bad_record(body.get("kind", "report"), count=body.get("count", 1))
    ),
    "/expire-tokens": _done(lambda sim, body: sim.expire_tokens()),
    "/outcome": _done(lambda sim, body: sim.set_outcome(body["mobile"], body["outcome"])),
    "/submit-result": _done(lambda sim, body: sim.set_submit_result(body["mobile"], body.get("code"))),
    "/configure": _done(lambda sim, body: sim.configure(**body)),
    "/balance": _done(lambda sim, body: sim.set_balance(body.pop("balance"), **body)),
    "/advance-clock": _done(lambda sim, body: sim.advance_clock(body["seconds"])),
}
