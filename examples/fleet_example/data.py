"""The fleet tracker's fixture data, generated in memory: the same rows for the same seed.

Made to expose differences: awkward text (quotes, ``<b>``, ``&``, non-ASCII, a trailing space),
NULL in every nullable column for some rows, rows of one tenant that share ``created_at`` (ties),
empty and missing tag lists, nested JSON, and a last tenant with no work orders at all. Ids are
explicit integers from 1 per table, in tenant order.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fleet_example.legacy import ASSET_STATUSES, WORK_ORDER_STATES

TABLES = (
    "orgs",
    "users",
    "sites",
    "assets",
    "work_orders",
    "parts",
    "work_order_parts",
    "notes",
    "api_keys",
)
"""Every table, parents first."""

EPOCH = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
NAMES = ("Ács & Fils", "O'Brien <b>Haulage</b>", 'Zürich "Süd" Fleet', "ΔЖ Logistics ", "北港 Rail")
TAGS = ("diesel", "EV", "crane", "cold-chain", "Ünïcode", "a,b", '"quoted"')


class FleetDataset:
    """The generated rows: ``tenants`` (org ids), ``tables`` in load order, ``rows(table)``."""

    def __init__(self, tables: Mapping[str, list[dict[str, Any]]]) -> None:
        self.tables = dict(tables)
        self.tenants = sorted(row["id"] for row in self.tables["orgs"])

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The rows of ``table``, sorted by id."""
        return sorted(self.tables[table], key=lambda row: row["id"])


def generate(*, seed: int = 0, tenants: int = 3, scale: int = 1) -> FleetDataset:
    """Build the dataset; ``tenants`` organizations, ``scale`` multiplies the per-tenant rows."""
    rng = random.Random(seed)
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def add(table: str, **row: Any) -> dict[str, Any]:
        row = {"id": len(tables[table]) + 1, **row}
        tables[table].append(row)
        return row

    for number in range(1, tenants + 1):
        org = add(
            "orgs",
            name=NAMES[(number - 1) % len(NAMES)] + ("" if number <= len(NAMES) else f" {number}"),
            slug=f"org-{number}",
            settings=None if number == 2 else {"units": "km", "alerts": {"email": number % 2 == 0}},
            created_at=EPOCH + dt.timedelta(days=number),
        )
        _tenant(add, rng, org, scale, last=number == tenants and tenants > 1)
    return FleetDataset(tables)


def _tenant(add: Any, rng: random.Random, org: dict[str, Any], scale: int, *, last: bool) -> None:
    oid = org["id"]
    # Several rows of a tenant share a timestamp: created in one batch import.
    batch = org["created_at"] + dt.timedelta(hours=1)
    users = [
        add(
            "users",
            org_id=oid,
            email=f"user{i}@org{oid}.example",
            display_name=None if i == 2 else f"{rng.choice(('Zoë', 'bob', 'Åsa', 'Li'))} #{i}",
            is_active=i != 3,
            created_at=batch,
        )
        for i in range(1, 5)
    ]
    sites = [
        add(
            "sites",
            org_id=oid,
            name=f"Depot {i} & yard",
            address=None if i == 2 else f"{i} Main St",
        )
        for i in range(1, 3)
    ]
    assets = []
    for i in range(1, 6 * scale + 1):
        tags = rng.sample(TAGS, rng.randint(0, 3)) if i % 4 else None
        assets.append(
            add(
                "assets",
                org_id=oid,
                site_id=None if i % 5 == 0 else sites[i % 2]["id"],
                asset_tag=f"A-{oid}-{i:03d}",
                name=f"Truck {i} <{rng.choice(('Volvo', 'MAN', 'Scania'))}>",
                status=ASSET_STATUSES[i % len(ASSET_STATUSES)],
                tags=tags,
                specs=None
                if i % 3 == 0
                else {"axles": rng.randint(2, 5), "fuel": {"kind": "diesel"}},
                serial_uuid=None if i == 2 else uuid.UUID(int=rng.getrandbits(128), version=4),
                # Pairs of assets tie on created_at: (1, 2), (3, 4), ...
                created_at=batch + dt.timedelta(minutes=(i + 1) // 2),
            )
        )
    parts = [
        add(
            "parts",
            org_id=oid,
            sku=f"SKU-{i}",
            name=f"Filter “{i}”",
            unit_cost=Decimal(rng.randint(100, 99999)) / 100,
            quantity=rng.randint(0, 20),
        )
        for i in range(1, 4)
    ]
    if last:
        return  # the last tenant has no work orders, notes or keys
    for i in range(1, 5 * scale + 1):
        closed = i % 3 == 0
        opened = batch + dt.timedelta(days=1, hours=i // 3)  # ties: i = 3k, 3k+1, 3k+2
        order = add(
            "work_orders",
            org_id=oid,
            asset_id=assets[i % len(assets)]["id"],
            opened_by=None if i == 4 else users[i % len(users)]["id"],
            title=f"Brake check #{i} — “urgent” & <soon>",
            priority=1 + i % 3,
            state=WORK_ORDER_STATES[i % len(WORK_ORDER_STATES)],
            created_at=opened,
            closed_at=opened + dt.timedelta(hours=5) if closed else None,
        )
        add("work_order_parts", work_order_id=order["id"], part_id=parts[i % 3]["id"], quantity=i)
        for n in range(i % 3):
            add(
                "notes",
                org_id=oid,
                work_order_id=order["id"],
                author_id=None if n else users[0]["id"],
                body=f"Note {n} on #{i}: it's <fine> & done\n",
                created_at=opened + dt.timedelta(minutes=30),
            )
    add(
        "api_keys",
        org_id=oid,
        user_id=users[0]["id"],
        label="ci",
        token=f"{rng.getrandbits(128):032x}",
        created_at=batch,
    )
