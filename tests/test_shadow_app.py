"""The worked example (examples/shadow_app): real HTTP to a real server on the real databases.

A divergence planted in the new side of ``issue.list`` arrives in the shadow log while the client
gets the legacy result; a candidate that raises, and one that hangs past the shadow's timeout,
leave the response as it was. The report drawn from the log shows the planted divergence.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.database.provider import DualORM
from harness.database.scratch import open_target
from harness.database.target import Target
from harness.reference.data import ReferenceDataset, generate
from harness.reference.provider import provider
from harness.shadow import Shadow

pytest.importorskip("flask", reason="the example needs the [example] extra")
from werkzeug.serving import make_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLANTED = " (planted by the test)"


@pytest.fixture(scope="module")
def fx() -> ReferenceDataset:
    return generate(seed=0, tenants=3, scale=1)


@pytest.fixture
def seeded(db_url: str | None, fx: ReferenceDataset) -> Iterator[Target]:
    with open_target(db_url, suffix="shadow_app") as target:
        provider.create_schema(target)
        provider.load(target, fx)
        yield target


def app_module() -> Any:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    from shadow_app import app

    return app


def url_of(target: Target) -> str:
    return f"sqlite:///{target.url.path}" if target.dialect == "sqlite" else target.url.raw


def get(base: str, path: str) -> tuple[int, Any]:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return response.status, json.loads(response.read())


@pytest.mark.databases
def test_shadow_app_over_http(seeded: Target, fx: ReferenceDataset, tmp_path: Path) -> None:
    release = threading.Event()  # the hanging candidate waits on it; set once the test is done

    def planted_list(ctx: Any, **params: Any) -> Any:
        rows = registry_new("issue.list")(ctx, **params)
        rows[0]["title"] += PLANTED
        return rows

    def raising(ctx: Any, **params: Any) -> Any:
        raise RuntimeError("planted candidate failure")

    def hanging(ctx: Any, **params: Any) -> Any:
        release.wait()
        return None

    module = app_module()

    def registry_new(name: str) -> Any:
        from harness.registry import load_pairs

        return load_pairs(list(module.ROUTER_MODULES), include_default=False)[name].sides["new"]

    log = tmp_path / "shadow.jsonl"
    orm = DualORM(url_of(seeded), pool_size=4, connect_timeout=5).connect()
    shadow = Shadow(
        sink=log,
        sample=1.0,
        match_sample=1.0,
        pairs=list(module.ROUTER_MODULES),
        timeout=2.0,
        enabled=False,
    )
    app = module.create_app(
        orm,
        shadow,
        candidates={
            "issue.list": planted_list,
            "machine.listByLocation": raising,
            "issue.get": hanging,
        },
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    org = fx.tenants[0]
    issue = next(row for row in fx.rows("Issue") if row["organizationId"] == org)
    location = next(row for row in fx.rows("Location") if row["organizationId"] == org)
    paths = [
        f"/orgs/{org}/issues?limit=5",
        f"/orgs/{org}/issues/{issue['id']}",
        f"/orgs/{org}/locations/{location['id']}/machines",
    ]
    try:
        legacy_only = [get(base, path) for path in paths]  # the shadow is off: legacy alone
        shadow.enabled = True
        shadowed = [get(base, path) for path in paths]
        assert shadow.flush()
    finally:
        release.set()
        server.shutdown()
        thread.join()
        shadow.close()
        orm.close()

    # The client got the legacy result every time: planted, raising and hanging candidates alike.
    assert shadowed == legacy_only
    assert all(status == 200 for status, _ in shadowed)
    assert legacy_only[0][1] and PLANTED not in legacy_only[0][1][0]["title"]

    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    calls = {r["operation"]: r for r in records if r["kind"] == "call"}
    planted = calls["issue.list"]
    assert planted["status"] == "mismatch"
    assert planted["tenant_id"] == org and planted["params"] == {"limit": 5}
    assert [c["path"] for c in planted["diff"]["changes"]] == ["[0].title"]
    assert planted["diff"]["changes"][0]["new"].endswith(PLANTED)
    assert planted["legacy"]["queries"] >= 1 and planted["new"]["queries"] >= 1
    assert planted["legacy"]["result"][0]["title"] == legacy_only[0][1][0]["title"]
    raised = calls["machine.listByLocation"]
    assert raised["status"] == "error"
    assert raised["new"]["raised"]["type"] == "builtins.RuntimeError"
    assert raised["new"]["raised"]["message"] == "planted candidate failure"
    assert raised["new"]["raised"]["category"] is None  # the candidate's own bug: no category
    hung = calls["issue.get"]
    assert hung["status"] == "error"
    assert hung["new"]["raised"]["type"] == "harness.shadow.observe.CandidateTimeout"
    stats = [r for r in records if r["kind"] == "stats"][-1]["operations"]
    assert stats["issue.list"]["calls"] == 1 and stats["issue.list"]["mismatch"] == 1

    # The report drawn from the log shows the planted divergence.
    main(["report", str(log), "--out", str(tmp_path / "report")])
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "Shadow traffic" in page and "issue.list" in page
    assert "planted by the test" in page
