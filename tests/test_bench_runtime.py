"""bin/bench sets up only the runtime requirements (requirements.txt): the benchmark must not import
what only the tests install."""
import subprocess
import sys

from .servers import ROOT

TEST_ONLY = ("aiosmtpd", "pytest", "hypothesis", "lifelines", "statsmodels", "pandas", "matplotlib", "playwright")


def test_the_benchmark_imports_nothing_that_only_the_tests_install():
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in TEST_ONLY)
    code = f"import sys; {blocked}; sys.path.insert(0, {ROOT!r}); import bench.run, bench.pages"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
