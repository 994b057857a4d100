"""Profile OGC items requests in process: where the server's CPU goes (cProfile).

Runs the ASGI app with httpx's ``ASGITransport`` (no sockets, no uvicorn), with the thread
pool replaced by direct calls so that cProfile sees the handlers, on a copy of a database::

    python benchmarks/ogc_profile.py --db sqlite:////tmp/national.db --features 100 -n 200

Prints CPU ms per request (the whole request, client included) and the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    """Parse arguments, run the requests, print the profile."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="database URL (a copy: a user is added)")
    ap.add_argument("--features", type=int, default=100, help="about how many per answer")
    ap.add_argument("-n", type=int, default=200, help="requests")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--callers", help="also print the callers of functions matching this")
    ap.add_argument("--no-profile", action="store_true", help="only time the requests")
    args = ap.parse_args()

    import anyio.to_thread
    import httpx

    from ogc import bb, load, pick_bboxes

    async def inline(func: Any, *a: Any, **kw: Any) -> Any:
        return func(*a)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]

    from mineaction.web.app import create_app

    store, token = load(args.db, "small")
    boxes = pick_bboxes(store, args.features)
    app = create_app(args.db)
    logging.getLogger("mineaction").setLevel(logging.WARNING)  # as serve --log-level warning
    headers = {"Authorization": f"Bearer {token}"}

    async def go(n: int) -> int:
        transport = httpx.ASGITransport(app=app)
        got = 0
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for i in range(n):
                b = boxes[i % len(boxes)]
                r = await c.get(
                    f"/ogc/collections/hazards/items?bbox={bb(b)}&limit=2000", headers=headers
                )
                assert r.status_code == 200, r.text[:300]
                got += r.json()["numberReturned"] if i == 0 else 0
        return got

    asyncio.run(go(10))  # warm up
    prof = cProfile.Profile(time.process_time)
    c0, t0 = time.process_time(), time.perf_counter()
    if args.no_profile:
        asyncio.run(go(args.n))
    else:
        prof.runcall(asyncio.run, go(args.n))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    print(
        f"{args.n} requests: {1000 * cpu / args.n:.2f} ms CPU, {1000 * wall / args.n:.2f} ms wall each"
    )
    if not args.no_profile:
        st = pstats.Stats(prof)
        st.sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            st.print_callers(args.callers)


if __name__ == "__main__":
    main()
