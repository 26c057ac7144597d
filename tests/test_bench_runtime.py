"""bin/bench sets up only the runtime requirements (requirements.txt): the benchmark must not import
what only the tests install (requirements-dev.txt)."""
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions

from .servers import ROOT


def _names(requirements: str) -> set[str]:
    with open(os.path.join(ROOT, requirements)) as handle:
        return {re.split(r"[=<>\[ ;]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
                for line in handle if line.strip() and not line.startswith(("#", "-r"))}


def test_the_benchmark_imports_nothing_that_only_the_tests_install():
    test_only = _names("requirements-dev.txt") - _names("requirements.txt")
    modules = sorted(module for module, distributions in packages_distributions().items()
                     if {d.lower().replace("_", "-") for d in distributions} <= test_only)
    assert "aiosmtpd" in modules and "pytest" in modules and "yaml" in modules  # the map found them
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in modules)
    code = f"import sys; {blocked}; sys.path.insert(0, {ROOT!r}); import bench.run, bench.pages"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
