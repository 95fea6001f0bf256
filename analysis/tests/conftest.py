"""Shared pytest fixtures: the fixture files are written once per session."""
import os

import pytest

from analysis.tests import make_fixture


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """{'full', 'partial', 'wrong_version', 'foreign'} -> path (see make_fixture.py)."""
    return make_fixture.write_all(str(tmp_path_factory.mktemp("fixtures")))


@pytest.fixture(scope="session")
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
