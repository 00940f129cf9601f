"""Local tooling on a user's app: first and second ``local deploy``, then ``local run`` speed.

Deploys a copy of ``examples/orders`` (two stacks, four consumers, one nested, one FIFO) into a
fresh emulator, changes one consumer's batch size and deploys again (an update in place), then
publishes ``--events`` orders and times the runner draining every queue::

    python benchmarks/local_app.py --events 500

Prints seconds for each deploy and the run's records per second (records handled by all
consumers together, over the drain's wall time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from event_fanout.local.deploy import deploy_project
from event_fanout.local.project import Project
from event_fanout.local.runner import EventSourceRunner
from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orders"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="orders to publish")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="local-app-bench-"))
    app_dir = work / "orders"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns(".event-fanout", "tests"))
    with LocalAws(log_path=work / "moto.log") as aws:
        env = aws.environment
        started = time.perf_counter()
        deploy_project(env, app_dir)
        first = time.perf_counter() - started
        app = app_dir / "app.py"
        app.write_text(app.read_text().replace("max_receive_count=3,", "max_receive_count=4,"))
        started = time.perf_counter()
        deploy_project(env, app_dir)
        second = time.perf_counter() - started
        session = session_for(env)
        events = session.client("events")
        for start in range(0, args.events, 10):
            entries = [
                {
                    "EventBusName": "orders",
                    "Source": "shop.orders",
                    "DetailType": "OrderPlaced",
                    "Detail": json.dumps({"orderId": f"o-{i}", "amount": i % 50}),
                }
                for i in range(start, min(start + 10, args.events))
            ]
            events.put_events(Entries=entries)
        mappings = Project(app_dir).mappings(session)
        runner = EventSourceRunner(session, mappings, retry_delay=0, log_dir=work / "logs")
        started = time.perf_counter()
        runner.run_until_drained(timeout=1800)
        drained = time.perf_counter() - started
        records = sum(stats.records for stats in runner.stats.values())
    print(
        f"first deploy {first:.1f} s (bootstrap included), second deploy {second:.1f} s; "
        f"run: {records} records in {drained:.1f} s = {records / drained:.0f} records/s"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
