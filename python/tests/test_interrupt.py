"""Ctrl-C: SIGINT sent to a child process in the middle of a run stops it at the end of the
generation; the model keeps the best weights found, the checkpoint is that generation's, and
KeyboardInterrupt reaches the caller."""
import os
import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import devo
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 64)).astype(np.float32)
    y = np.arange(4000) % 10
    m = devo.Model(64, [(64, "relu"), (10, "softmax")], loss="sparse_categorical_crossentropy")
    seen = []
    def started(generation, logs):
        seen.append(generation)
        if generation == 2:
            print("running", flush=True)
    try:
        m.fit_evolve(x, y, max_generations=100000, population=32, verbose=0,
                     checkpoint=sys.argv[1], checkpoint_every=1000, callbacks=[started])
    except KeyboardInterrupt:
        e = devo.Evolver.load_state(sys.argv[1])
        same = np.array_equal(e.best().get_flat_weights(), m.get_flat_weights())
        print("interrupted", e.generation, seen[-1], same, flush=True)
        sys.exit(0)
    sys.exit(3)
""")


def test_sigint_stops_at_the_end_of_the_generation_with_the_best_model(tmp_path):
    ckpt = str(tmp_path / "run.ckpt")
    child = subprocess.Popen([sys.executable, "-c", CHILD, ckpt], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "running"
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    word, generation, last_seen, same = out.split()
    assert word == "interrupted"
    assert int(generation) == int(last_seen) >= 2  # the checkpoint is the last generation's
    assert same == "True"  # the model holds that generation's best
