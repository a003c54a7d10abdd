"""The fleet tracker's writing operations: inserts with serial ids, an update, a delete, errors."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, update

from fleet_example import legacy as lm
from fleet_example import models as nm
from fleet_example.sides import first, legacy_side
from harness import Case, pair

# -- writes: inserts with serial ids ----------------------------------------------------------

work_order_open = pair(
    "fleet.work_order.open", router="work_order", writes=True, watch=["work_orders"]
)


@legacy_side(work_order_open)
def _(ctx: Any, asset_id: int, title: str) -> Any:
    return lm.WorkOrder.create(
        org=ctx.tenant_id, asset=asset_id, opened_by=None, title=title, created_at=ctx.now
    )


@work_order_open.new
def _(ctx: Any, asset_id: int, title: str) -> Any:
    row = nm.WorkOrder(
        org_id=ctx.tenant_id, asset_id=asset_id, opened_by=None, title=title, created_at=ctx.now
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def _coinciding_assets(fx: Any, count: int) -> list[dict[str, Any]]:
    """Assets whose ids equal the next work order ids: the new rows reference an asset whose id
    is, by coincidence, a fresh id of one side (the sequences diverge between the sides)."""
    top = max((w["id"] for w in fx.rows("work_orders")), default=0)
    assets = {a["id"]: a for a in fx.rows("assets")}
    return [assets[top + n] for n in range(1, count + 1) if top + n in assets]


@work_order_open.cases
def _(fx: Any) -> Any:
    for asset in _coinciding_assets(fx, 3):
        title = f"Tyre #{asset['id']} “flat” & <now>"
        yield Case(tenant_id=asset["org_id"], params={"asset_id": asset["id"], "title": title})


work_order_with_note = pair(
    "fleet.work_order.open_with_note",
    router="work_order",
    writes=True,
    watch=["work_orders", "notes"],
)


@legacy_side(work_order_with_note)
def _(ctx: Any, asset_id: int, body: str) -> Any:
    order = lm.WorkOrder.create(
        org=ctx.tenant_id, asset=asset_id, title="Inspection", priority=1, created_at=ctx.now
    )
    note = lm.Note.create(org=ctx.tenant_id, work_order=order.id, body=body, created_at=ctx.now)
    return {"work_order": order, "note": note}


@work_order_with_note.new
def _(ctx: Any, asset_id: int, body: str) -> Any:
    order = nm.WorkOrder(
        org_id=ctx.tenant_id, asset_id=asset_id, title="Inspection", priority=1, created_at=ctx.now
    )
    ctx.session.add(order)
    ctx.session.flush()
    note = nm.Note(org_id=ctx.tenant_id, work_order_id=order.id, body=body, created_at=ctx.now)
    ctx.session.add(note)
    ctx.session.flush()
    # Keys named for the rows (a bare 'note_id' key would not be matched up: see the README).
    return {"work_order": order, "note": note}


@work_order_with_note.cases
def _(fx: Any) -> Any:
    for asset in _coinciding_assets(fx, 2):
        yield Case(tenant_id=asset["org_id"], params={"asset_id": asset["id"], "body": "ok\n<é>"})


asset_register = pair(
    "fleet.asset.register",
    router="asset",
    writes=True,
    watch=["assets"],
    fresh=("assets.serial_uuid",),  # uuid4 on each side: matched up like a new id
)


@legacy_side(asset_register)
def _(ctx: Any, tag: str, tags: list[str]) -> Any:
    return lm.Asset.create(
        org=ctx.tenant_id,
        asset_tag=tag,
        name="New trailer",
        tags=tags,
        specs={"axles": 2},
        serial_uuid=lm.new_serial(),
        created_at=ctx.now,
    )


@asset_register.new
def _(ctx: Any, tag: str, tags: list[str]) -> Any:
    row = nm.Asset(
        org_id=ctx.tenant_id,
        asset_tag=tag,
        name="New trailer",
        tags=tags,
        specs={"axles": 2},
        serial_uuid=uuid.uuid4(),
        created_at=ctx.now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


@asset_register.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"tag": f"T-{org}-new", "tags": ["trailer", "Ünï"]})


api_key_issue = pair(
    "fleet.api_key.issue",
    router="api_key",
    writes=True,
    watch=["api_keys"],
    ignore={
        "changes.api_keys.inserted[*].token": "a random secret, different on each side",
        "$.token": "a random secret, different on each side",
    },
)


@legacy_side(api_key_issue)
def _(ctx: Any, user_id: int) -> Any:
    key = lm.ApiKey.create(
        org=ctx.tenant_id,
        user=user_id,
        label="deploy",
        token=secrets.token_hex(16),
        created_at=ctx.now,
    )
    return {"id": key.id, "label": key.label, "token": key.token}


@api_key_issue.new
def _(ctx: Any, user_id: int) -> Any:
    key = nm.ApiKey(
        org_id=ctx.tenant_id,
        user_id=user_id,
        label="deploy",
        token=secrets.token_hex(16),
        created_at=ctx.now,
    )
    ctx.session.add(key)
    ctx.session.flush()
    return {"id": key.id, "label": key.label, "token": key.token}


@api_key_issue.cases
def _(fx: Any) -> Any:
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"user_id": first(fx.rows("users"), org_id=org)["id"]})


# -- writes: update, delete, and an error path both sides share ------------------------------

work_order_close = pair(
    "fleet.work_order.close", router="work_order", writes=True, watch=["work_orders"]
)


@legacy_side(work_order_close)
def _(ctx: Any, work_order_id: int) -> Any:
    wo = lm.WorkOrder
    return (
        wo.update(state="done", closed_at=ctx.now)
        .where((wo.id == work_order_id) & (wo.org == ctx.tenant_id))
        .execute()
    )


@work_order_close.new
def _(ctx: Any, work_order_id: int) -> Any:
    wo = nm.WorkOrder
    stmt = (
        update(wo)
        .where(wo.id == work_order_id, wo.org_id == ctx.tenant_id)
        .values(state="done", closed_at=ctx.now)
    )
    return ctx.session.execute(stmt).rowcount


@work_order_close.cases
def _(fx: Any) -> Any:
    for order in fx.rows("work_orders"):
        if order["closed_at"] is None:
            yield Case(tenant_id=order["org_id"], params={"work_order_id": order["id"]})
            break


note_delete = pair("fleet.note.delete", router="note", writes=True, watch=["notes"])


@legacy_side(note_delete)
def _(ctx: Any, note_id: int) -> Any:
    n = lm.Note
    return n.delete().where((n.id == note_id) & (n.org == ctx.tenant_id)).execute()


@note_delete.new
def _(ctx: Any, note_id: int) -> Any:
    n = nm.Note
    stmt = delete(n).where(n.id == note_id, n.org_id == ctx.tenant_id)
    return ctx.session.execute(stmt).rowcount


@note_delete.cases
def _(fx: Any) -> Any:
    notes = fx.rows("notes")
    yield Case(tenant_id=notes[0]["org_id"], params={"note_id": notes[0]["id"]})
    # Another organization's note: nothing deleted on either side.
    yield Case(tenant_id=notes[0]["org_id"], params={"note_id": notes[-1]["id"]}, label="other")


part_add = pair("fleet.part.add", router="part", writes=True, watch=["parts"])


@legacy_side(part_add)
def _(ctx: Any, sku: str) -> Any:
    return lm.Part.create(
        org=ctx.tenant_id, sku=sku, name="Belt", unit_cost=Decimal("12.50"), quantity=4
    )


@part_add.new
def _(ctx: Any, sku: str) -> Any:
    row = nm.Part(
        org_id=ctx.tenant_id, sku=sku, name="Belt", unit_cost=Decimal("12.50"), quantity=4
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


@part_add.cases
def _(fx: Any) -> Any:
    org = fx.tenants[0]
    yield Case(tenant_id=org, params={"sku": "SKU-NEW"}, label="new-sku")
    # An existing (org_id, sku): both sides raise unique_violation, which is equal.
    existing = first(fx.rows("parts"), org_id=org)["sku"]
    yield Case(tenant_id=org, params={"sku": existing}, label="duplicate-sku")
