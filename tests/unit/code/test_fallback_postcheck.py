"""The Python 2 token-level fallback and the pyflakes post-check."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from tests.unit.code.test_transform import RENAMER

from spinout.code.fallback import KIND_FB_FROM, KIND_FB_NAME, KIND_FB_REGEX, KIND_FB_STRING, rewrite_fallback
from spinout.code.postcheck import check_file
from spinout.code.transform import FileContext

PY2 = textwrap.dedent("""\
    import acme.services.lb.plugin
    from acme.services import lb, service_base
    from acme.db.lb import models
    from acme.services.lb.plugin import *

    def f():
        try:
            x = acme.services.lb.plugin.Plugin()
        except KeyError, e:
            print "loading acme.services.lb.plugin:Plugin", `x`
        print >>sys.stderr, 'acme.services.lbx'
    """)


def test_py2_source_is_not_parseable_by_libcst() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(PY2)


def test_fallback_rewrites_names_imports_and_strings() -> None:
    out = rewrite_fallback(PY2.encode(), "old.py", RENAMER)
    assert out.method == "tokenize"
    assert out.after.decode() == textwrap.dedent("""\
        import acme_lb.services.lb.plugin
        from acme_lb.services import lb
        from acme.services import service_base
        from acme_lb.db import lb_models as models
        from acme_lb.services.lb.plugin import *

        def f():
            try:
                x = acme_lb.services.lb.plugin.Plugin()
            except KeyError, e:
                print "loading acme_lb.services.lb.plugin:Plugin", `x`
            print >>sys.stderr, 'acme.services.lbx'
        """)
    kinds = [(r.line, r.kind) for r in out.rewrites]
    assert kinds == [
        (1, KIND_FB_NAME),
        (2, KIND_FB_FROM),
        (3, KIND_FB_FROM),
        (4, KIND_FB_FROM),
        (8, KIND_FB_NAME),
        (10, KIND_FB_STRING),
    ]


def test_fallback_multiline_mixed_from_import_is_reported_not_broken() -> None:
    src = b"from acme.services import (lb,\n    service_base)\nprint 'x'\n"
    out = rewrite_fallback(src, "m.py", RENAMER)
    assert out.after == src
    assert out.warnings and "m.py:1" in out.warnings[0]


def test_fallback_regex_when_tokenize_fails() -> None:
    src = b'x = """unterminated acme.services.lb.plugin\nimport acme.services.lb.drivers\n'
    out = rewrite_fallback(src, "bad.py", RENAMER)
    assert out.method == "regex"
    assert out.after == b'x = """unterminated acme_lb.services.lb.plugin\nimport acme_lb.services.lb.drivers\n'
    assert [(r.line, r.kind) for r in out.rewrites] == [(1, KIND_FB_REGEX), (2, KIND_FB_REGEX)]


def test_postcheck_flags_new_undefined_name_with_line() -> None:
    before = b"import acme.services.lb.plugin\n\nacme.services.lb.plugin.Plugin()\n"
    after = b"import acme_lb.services.lb.plugin\n\nacme.services.lb.plugin.Plugin()\n"
    findings = check_file("a.py", before, after)
    assert sorted((f.file, f.line, f.message) for f in findings) == [
        ("a.py", 1, "'acme_lb.services.lb.plugin' imported but unused"),
        ("a.py", 3, "undefined name 'acme'"),
    ]


def test_postcheck_flags_new_unused_import() -> None:
    before = b"from acme import services\nservices.lb.x\n"
    after = b"from acme import services\nimport acme_lb.services.lb\nacme_lb.services.lb.x\n"
    findings = check_file("b.py", before, after)
    assert [(f.line, f.message) for f in findings] == [(1, "'acme.services' imported but unused")]


def test_postcheck_tolerates_preexisting_messages_and_py2() -> None:
    before = b"import os\nimport sys\nundefined_thing\n"
    after = b"import os\nimport sys\nundefined_thing\n\n"
    assert check_file("c.py", before, after) == []
    assert check_file("d.py", PY2.encode(), PY2.encode()) == []


def test_postcheck_flags_broken_syntax() -> None:
    findings = check_file("e.py", b"import os\nos\n", b"import os\nos(\n")
    assert len(findings) == 1 and "no longer compiles" in findings[0].message


def test_postcheck_renamed_but_already_unused_import_is_not_new() -> None:
    before = b"from acme.services.lb import plugin\n"
    after = b"from acme_lb.services.lb import plugin\n"
    assert [f.message for f in check_file("f.py", before, after)] == [
        "'acme_lb.services.lb.plugin' imported but unused"
    ]
    assert check_file("f.py", before, after, lambda s: RENAMER.sub_text(s)[0]) == []


def test_fallback_relative_imports_made_absolute_only_when_broken() -> None:
    ctx = FileContext("acme_lb/services/lb/plugin.py", "acme.services.lb.plugin", "acme_lb.services.lb.plugin", False)
    src = textwrap.dedent("""\
        from . import drivers
        from .drivers import haproxy
        from .. import service_base
        from .. import lb, provider_configuration as pc
        from ..service_base import *
        print "py2"
        """).encode()
    out = rewrite_fallback(src, ctx.path, RENAMER, ctx)
    assert out.after.decode() == textwrap.dedent("""\
        from . import drivers
        from .drivers import haproxy
        from acme.services import service_base
        from acme_lb.services import lb
        from acme.services import provider_configuration as pc
        from acme.services.service_base import *
        print "py2"
        """)
    # Without the file's context, relative imports are left alone.
    assert rewrite_fallback(src, ctx.path, RENAMER).after == src
