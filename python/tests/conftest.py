# Shared helpers for the Python tests: the `toyformer` binary (CTest passes its path in TOYFORMER_BIN), a runner
# that returns its exit code, stdout and stderr, and the CLI flags for a dict of train() keywords.
import os
import shutil
import subprocess

import pytest


def toyformer_bin():
    path = os.environ.get("TOYFORMER_BIN") or shutil.which("toyformer")
    if not path:
        pytest.skip("TOYFORMER_BIN is not set (CTest sets it to the built toyformer binary)")
    return path


def cli(*args, check=True):
    """Run `toyformer ARGS...`; with check, fail the test on a non-zero exit."""
    p = subprocess.run([toyformer_bin(), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"toyformer {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def cli_error(*args):
    """The message `toyformer ARGS...` fails with (stderr's 'toyformer: error: ' line, without the prefix)."""
    p = cli(*args, check=False)
    assert p.returncode != 0, f"toyformer {' '.join(map(str, args))} succeeded"
    lines = [l for l in p.stderr.splitlines() if l.startswith("toyformer: error: ")]
    assert lines, p.stderr
    return lines[-1][len("toyformer: error: "):]


def flags(kw):
    """train() keywords as `toyformer train` flags: a_b=v -> --a-b v; a_b=True -> --a-b."""
    out = []
    for k, v in kw.items():
        f = "--" + k.replace("_", "-")
        out += [f] if v is True else [f, str(v)]
    return out
