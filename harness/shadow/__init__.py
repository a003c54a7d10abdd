"""Runtime shadow mode: the suite's equivalence check inside the running application.

``Shadow(...).run(name, legacy=..., new=..., use="legacy")`` calls both sides of a router
operation on live traffic (sampled, behind a kill switch), returns the ``use`` side's result,
normalizes and judges both exactly as the suite does (a registered pair's options apply by name)
and publishes mismatches, errors and a sample of matches to a sink, from a background thread
through a bounded queue. ``harness report shadow.jsonl`` draws the log into the suite's HTML
report; ``harness baseline update --results shadow.jsonl`` accepts its differences.

Example::

    from harness.shadow import Shadow

    shadow = Shadow(sink="shadow.jsonl", sample=0.1, enabled=os.environ.get("SHADOW") == "1")
    issues = shadow.run("issue.list",
                        legacy=lambda: legacy_list(db, org),
                        new=lambda: new_list(session, org),
                        use="legacy", tenant_id=org, params={"status": status})

Modules: ``experiment`` (:class:`Shadow`), ``observe`` (one side's run, the candidate's timeout),
``record`` (the verdict and its JSON line), ``publisher`` (the queue and the writer thread),
``sinks``, ``traffic`` (counts and latencies per operation), ``log`` (reading a log back).
"""

from __future__ import annotations

from harness.shadow.experiment import Shadow
from harness.shadow.observe import CandidateTimeout
from harness.shadow.sinks import CallbackSink, JsonlSink, LoggingSink, Sink

__all__ = ["CallbackSink", "CandidateTimeout", "JsonlSink", "LoggingSink", "Shadow", "Sink"]
