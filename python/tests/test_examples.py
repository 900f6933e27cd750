"""The Python examples run as a user runs them: the seed's two deepevolution scripts (with
only the import changed) and the recommended evolution strategy, briefly, on the installed
Fashion-MNIST (./test.sh's dependencies)."""
import os
import subprocess
import sys

import pytest

import devo

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python")


def run_example(name, *args):
    if not os.path.isdir(devo.datasets.FASHION_MNIST):
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.parametrize("name", ["mnist_loss.py", "mnist_accuracy.py"])
def test_the_seeds_examples_run_with_only_the_import_changed(name):
    source = open(os.path.join(EXAMPLES, name)).read()
    assert "from devo.keras import wrap_keras  # was: from deepevolution import wrap_keras" \
        in source
    lines = run_example(name).splitlines()
    generations = [line for line in lines if line.startswith("[Generation ")]
    assert len(generations) == 10 and generations[-1].startswith("[Generation 10 / 10]")
    assert lines[-1].startswith("test loss and accuracy:")


def test_the_recommended_strategy_example_runs():
    out = run_example("fashion_es.py", "3")
    assert "test accuracy" in out and "after 3 generations" in out
