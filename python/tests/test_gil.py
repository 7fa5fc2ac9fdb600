# The GIL is released while the engine trains (a thread keeps running during a sweep; a sweep runs in a thread), and
# Ctrl-C (SIGINT -> KeyboardInterrupt) stops a long run cleanly, leaving the interpreter usable.
import os
import subprocess
import sys
import textwrap
import threading
import time

import toyformer


def test_a_thread_keeps_running_while_a_sweep_trains():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    sw = toyformer.sweep(H=[10, 20], seeds=20, epochs=12000, jobs=1)  # long enough to tick (~0.4 s in 2026-12)
    t1 = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if t0 < x < t1]
    assert len(sw.runs) == 40
    assert t1 - t0 > 0.1
    # Holding the GIL for the whole sweep would allow no tick at all; released, the thread ticks every ~5 ms.
    assert len(during) >= max(3, 0.25 * (t1 - t0) / 0.005), (len(during), t1 - t0)


def test_a_sweep_runs_in_a_thread():
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("sw", toyformer.sweep(H=10, seeds=4, epochs=2000, jobs=1)))
    t0 = time.perf_counter()
    t.start()
    spins = 0
    while t.is_alive():
        spins += 1
        time.sleep(0.001)
    assert len(box["sw"].runs) == 4
    assert spins >= 10 or time.perf_counter() - t0 < 0.05


def test_train_releases_the_gil():
    ticks = []
    stop = threading.Event()
    t = threading.Thread(target=lambda: [ticks.append(1) or time.sleep(0.002) for _ in iter(stop.is_set, True)])
    t.start()
    toyformer.train(epochs=20000)
    stop.set()
    t.join()
    assert len(ticks) >= 5


def run_and_interrupt(call):
    code = textwrap.dedent(f"""
        import os, signal, threading, time
        import toyformer
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.perf_counter()
        try:
            {call}
            print("finished")
        except KeyboardInterrupt:
            print("interrupted after %.2f s" % (time.perf_counter() - t0))
        # The interpreter is fine afterwards.
        print("after", toyformer.train(epochs=3).epochs)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].startswith("interrupted after "), p.stdout + p.stderr
    assert float(lines[0].split()[2]) < 10
    assert lines[1] == "after 3"


def test_ctrl_c_stops_train():
    run_and_interrupt("toyformer.train(epochs=10_000_000)")


def test_ctrl_c_stops_sweep():
    run_and_interrupt("toyformer.sweep(H=[10, 20], seeds=4, epochs=10_000_000, jobs=2)")
