"""Test set-up: the binding under test is this directory's package, the library the installed
one (or KMS_ENVELOPE_LIBRARY); the CLI for interop tests is KMS_ENVELOPE_CLI or kms-envelope
on PATH."""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def cli():
    path = os.environ.get("KMS_ENVELOPE_CLI") or shutil.which("kms-envelope")
    if not path:
        pytest.fail("no kms-envelope CLI: set KMS_ENVELOPE_CLI or put it on PATH")
    return path
