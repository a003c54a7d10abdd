"""The reference application's routers served by Flask, with the runtime shadow mode on.

Every endpoint is a router operation the suite already knows as a pair (``harness/pairs/``): the
legacy (peewee) side answers the client, the new (SQLAlchemy) side is shadowed, and both are
judged with the pair's own options. One pair definition serves the suite and production.

Run it on a seeded database::

    harness seed --db postgresql://postgres@127.0.0.1:5432/postgres     # prints the kept URL
    SHADOW=1 python examples/shadow_app/app.py --db <that URL>         # http://127.0.0.1:5000
    curl http://127.0.0.1:5000/orgs/<org id>/issues
    harness report shadow.jsonl                                        # -> index.html

Endpoints: ``GET /orgs/<org>/issues`` (``?status_category=&limit=&offset=&search=&sort=``),
``/orgs/<org>/issues/<id>``, ``/orgs/<org>/locations/<id>/machines``,
``/orgs/<org>/machines/qr/<qr code>``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, jsonify, request

from harness.database.provider import DualORM
from harness.registry import Context, Pair, load_pairs
from harness.shadow import Shadow

# The reference application's router modules: their pairs are the routers' code and options.
ROUTER_MODULES = ("harness.pairs.issue", "harness.pairs.machine")
INT_PARAMS = ("limit", "offset")
LIST_PARAMS = ("status_category", "priority_id", "machine_id", "assignee_id", "search", "sort")


def create_app(
    orm: DualORM,
    shadow: Shadow,
    *,
    candidates: Mapping[str, Callable[..., Any]] | None = None,
) -> Flask:
    """The Flask app: routers run by ``orm``'s clients, the new side shadowed by ``shadow``.

    ``candidates`` replaces the new side of an operation by name (how the example's test
    plants a divergence, an exception or a hang); a replacement takes ``(ctx, **params)``.
    """
    from harness.reference.legacy import MODELS

    registry = load_pairs(list(ROUTER_MODULES), include_default=False)
    # Bound once for the process: the pairs' legacy sides also bind per call, and restoring
    # "the previous binding" from many threads at once is only safe when it is this one.
    orm.peewee.bind(MODELS, bind_refs=False, bind_backrefs=False)
    replaced = dict(candidates or {})
    app = Flask(__name__)

    def route(name: str, org: str, **params: Any) -> Any:
        pair: Pair = registry[name]
        legacy_side = pair.sides["legacy"]
        new_side = replaced.get(name, pair.sides["new"])
        now = datetime.now(UTC)

        def legacy() -> Any:
            ctx = Context(tenant_id=org, user_id=None, now=now, side="legacy", db=orm.peewee)
            with orm.peewee.connection_context():
                return legacy_side(ctx, **params)

        def new() -> Any:
            with orm.session() as session:
                ctx = Context(tenant_id=org, user_id=None, now=now, side="new", session=session)
                return new_side(ctx, **params)

        return shadow.run(name, legacy=legacy, new=new, use="legacy", tenant_id=org, params=params)

    @app.get("/orgs/<org>/issues")
    def issue_list(org: str) -> Any:
        params: dict[str, Any] = {k: request.args[k] for k in LIST_PARAMS if k in request.args}
        for key in INT_PARAMS:
            if key in request.args:
                try:
                    params[key] = int(request.args[key])
                except ValueError:
                    abort(400, f"{key} must be a whole number")
        return jsonify(route("issue.list", org, **params))

    @app.get("/orgs/<org>/issues/<issue_id>")
    def issue_get(org: str, issue_id: str) -> Any:
        issue = route("issue.get", org, issue_id=issue_id)
        if issue is None:
            abort(404)
        return jsonify(issue)

    @app.get("/orgs/<org>/locations/<location_id>/machines")
    def machine_list(org: str, location_id: str) -> Any:
        return jsonify(route("machine.listByLocation", org, location_id=location_id))

    @app.get("/orgs/<org>/machines/qr/<qr_code_id>")
    def machine_by_qr(org: str, qr_code_id: str) -> Any:
        machine = route("machine.getByQrCode", org, qr_code_id=qr_code_id)
        if machine is None:
            abort(404)
        return jsonify(machine)

    return app


def main() -> None:
    """``python examples/shadow_app/app.py --db URL``: the development server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a seeded database (harness seed --db ...)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--sample", type=float, default=1.0)
    parser.add_argument("--log", default="shadow.jsonl")
    args = parser.parse_args()
    orm = DualORM(args.db, pool_size=5, connect_timeout=5).connect()
    shadow = Shadow(
        sink=args.log,
        sample=args.sample,
        enabled=lambda: os.environ.get("SHADOW") == "1",
        pairs=list(ROUTER_MODULES),
        timeout=1.0,
    )
    try:
        create_app(orm, shadow).run(port=args.port, threaded=True)
    finally:
        shadow.close()
        orm.close()


if __name__ == "__main__":
    main()
