"""Hypothesis runs the same cases on every run and machine, and keeps no example database in the
checkout (a pytest plugin, loaded by `-p tests.hypothesis_profile` in pyproject.toml).

A failure is then reproduced by running the test again, not by a file left behind; tests never
assert timings, so there is no deadline either. What Hypothesis still stores (its cache of the
constants in our source) goes to the temporary folder, not to .hypothesis/ in the checkout.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "policy-kb-hypothesis")

settings.register_profile("policy-kb", derandomize=True, database=None, deadline=None)
settings.load_profile("policy-kb")
