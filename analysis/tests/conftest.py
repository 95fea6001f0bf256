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


def _report(files, tmp_path_factory, kind):
    from analysis.report import write_report
    out = str(tmp_path_factory.mktemp("report_" + kind))
    return out, {p.name: p for p in write_report(files[kind], out)}


@pytest.fixture(scope="session")
def report_full(files, tmp_path_factory):
    """(output dir, {plot name: Plot}) of the report on the full fixture, made once."""
    return _report(files, tmp_path_factory, "full")


@pytest.fixture(scope="session")
def report_partial(files, tmp_path_factory):
    return _report(files, tmp_path_factory, "partial")
