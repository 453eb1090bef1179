"""Read-only load from ``wrk`` (a C client), so that the client's own CPU stays out of the server's figures.

The Python load clients of :mod:`benchmarks.load` run on the server's two cores (httpx threads under one
GIL). ``wrk`` asks the same ``GET /v1/enterprises/{id}/suppliers?need_id=…&k=10`` for random
seekers of the corpus (a Lua script holds the paths) and reports its latency percentiles as JSON. Needs the
``wrk`` binary (Debian: ``apt-get install wrk``).

wrk corrects its percentiles for coordinated omission: a request slower than the mean interval adds
synthetic samples for the requests a steady client would have sent meanwhile. One cold 1.4-s request in a
30-s single-connection phase at 1M firms so read as p99 1,082 ms. Each phase therefore starts with a few
unmeasured seconds of the same load.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from benchmarks.serve_harness import PORTAL_KEY, Corpus

PATHS = 20_000  # random (firm, need) paths the script picks from
WARM_UP_S = 3.0  # unmeasured load before each phase

_SCRIPT = """
wrk.headers["X-API-Key"] = "%(key)s"
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def run_reads(base: str, corpus: Corpus, clients: int, duration: float, seed: int = 7) -> dict[str, float | int | str]:
    """``clients`` connections (on up to two threads) for ``duration`` seconds, after a warm-up, summarised like
    :func:`benchmarks.load._summary`. wrk reports percentiles, not every latency, so ``over_1s`` is only 1 when
    the slowest request passed 1 s."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="cm-wrk-") as tmp:
        paths = Path(tmp) / "paths.txt"
        lines = []
        for _ in range(PATHS):
            firm, needs = rng.choice(corpus.seekers)
            lines.append(f"/v1/enterprises/{quote(firm)}/suppliers?need_id={quote(rng.choice(needs))}&k=10")
        paths.write_text("\n".join(lines) + "\n", encoding="utf-8")
        script = Path(tmp) / "reads.lua"
        script.write_text(_SCRIPT % {"key": PORTAL_KEY, "paths": paths}, encoding="utf-8")

        def wrk(seconds: float) -> str:
            return subprocess.run(
                ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
                 "-s", str(script), base],
                capture_output=True, text=True, check=True,
            ).stdout

        wrk(WARM_UP_S)
        out = wrk(duration)
    line = next(x for x in out.splitlines() if x.startswith("WRK-JSON "))
    got = json.loads(line.removeprefix("WRK-JSON "))
    seconds = got["duration_us"] / 1e6
    return {
        "op": "GET suppliers (wrk)",
        "requests": got["requests"],
        "req_s": round(got["requests"] / seconds, 1),
        "p50_ms": round(got["p50_us"] / 1000, 2),
        "p99_ms": round(got["p99_us"] / 1000, 2),
        "max_ms": round(got["max_us"] / 1000, 1),
        "over_1s": int(got["max_us"] > 1_000_000),
        "errors": got["errors"],
    }
