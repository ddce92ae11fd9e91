"""`make bench [BENCH_ARGS="scenario [options]"]`: run one scenario, or all of them in turn.

Each scenario prints its figures side by side with a baseline measured in the same run.
"""

from __future__ import annotations

import importlib
import sys

SCENARIOS = {
    "gateway": "bench.gateway",  # profile/me: Ray Serve and bare uvicorn vs the minimal reference
    "routes": "bench.routes",  # matches, conversation, swipe: the app vs the minimal reference
    "feed": "bench.feed",  # feed at 100k profiles vs a single-SQL baseline; swipes/s
    "photos": "bench.photos",  # 12 MP uploads/s and profile/me p99 under upload load
    "chat": "bench.chat",  # websocket chat vs a minimal relay; idle sockets per replica
    "push": "bench.push",  # notifications/s to local APNs/FCM fakes; send p99 with push on vs off
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("scenarios:", ", ".join(SCENARIOS))
        return 0
    chosen = [argv[0]] if argv and argv[0] in SCENARIOS else list(SCENARIOS)
    options = argv[1:] if argv and argv[0] in SCENARIOS else argv
    status = 0
    for name in chosen:
        print(f"==> bench {name}", flush=True)
        try:
            module = importlib.import_module(SCENARIOS[name])
        except ModuleNotFoundError as exc:
            print(f"    scenario {name} is not available: {exc}")
            status = 1
            continue
        status |= module.main(options)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
