"""Hypothesis profiles of the fuzz tests: short and deterministic in CI, long in the bench.

``HYPOTHESIS_PROFILE=long`` (set by ``make bench``) runs many more inputs; every
profile is derandomized (the inputs follow from the test's code), so a failure is
reproduced by running the same test again.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Inputs per test in each profile: (ordinary tests, tests through the trained NLU).
EXAMPLES = {"ci": (100, 30), "long": (10_000, 1_000)}

for name, (many, _) in EXAMPLES.items():
    settings.register_profile(
        name,
        max_examples=many,
        derandomize=True,
        deadline=None,  # timing belongs to the bench, not to a test
        # No example database; hypothesis still keeps caches in .hypothesis/ (ignored).
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        print_blob=True,
    )

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
#: Inputs per test through the trained model (it costs ~10 ms each).
NLU_EXAMPLES = EXAMPLES[PROFILE][1]
