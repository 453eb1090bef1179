"""No query compiles a kernel: building an engine compiles (or loads) every kernel signature its queries use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json
    from numba.core.registry import CPUDispatcher
    import matching.explicit_relevance as explicit_relevance
    import matching.kernels as kernels
    import matching.pair_components as pair_components
    from matching.chains import load_graph
    from matching.engine import MatchEngine
    from matching.policy import Policy
    from matching.profiles import Need
    from matching.regions import RegionRegistry
    from matching.seed_enterprises import load_seed_enterprises

    engine = MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), load_seed_enterprises())
    def counts():
        return {f"{m.__name__}.{n}": len(d.signatures) for m in (kernels, explicit_relevance, pair_components)
                for n, d in vars(m).items() if isinstance(d, CPUDispatcher)}
    before = counts()
    for eid in engine.enterprise_ids():
        engine.suppliers_for(eid)
        engine.buyers_for(eid)
    for product in ("己二酸", "导热胶 用于电池包", "火锅底料"):
        engine.match(Need(id="q", product=product), region_code="500117")
    print(json.dumps({"before": before, "after": counts()}))
""")


def test_queries_compile_no_kernel_after_the_engine_is_built() -> None:
    # A fresh interpreter: dispatchers are per process, and other tests may already have compiled signatures.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=600)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"], "no kernel dispatcher found"
    assert counts["after"] == counts["before"]
