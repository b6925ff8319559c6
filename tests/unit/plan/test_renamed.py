"""`Service.renamed`: a directory source renames everything below it, a file source only that file."""

from __future__ import annotations

from spinout.plan.model import Service


def _svc(rename: dict[str, str]) -> Service:
    return Service.model_validate({"name": "lb", "package": "lb", "paths": ["acme/", "tox.ini"], "rename": rename})


def test_longest_directory_prefix_wins() -> None:
    svc = _svc({"acme/": "acme_lb/", "acme/services/lb/": "acme_lb/lb/"})
    assert svc.renamed("acme/services/lb/plugin.py") == "acme_lb/lb/plugin.py"
    assert svc.renamed("acme/services/fw/plugin.py") == "acme_lb/services/fw/plugin.py"
    assert svc.renamed("acmex/a.py") == "acmex/a.py"


def test_file_source_renames_only_that_file() -> None:
    svc = _svc({"tox.ini": "tox-lb.ini"})
    assert svc.renamed("tox.ini") == "tox-lb.ini"
    assert svc.renamed("tox.ini.sample") == "tox.ini.sample"


def test_empty_target_strips_the_prefix() -> None:
    assert _svc({"acme/": ""}).renamed("acme/lb/x.py") == "lb/x.py"
