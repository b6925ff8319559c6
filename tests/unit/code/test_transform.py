"""Before/after pairs for every import form the transformer handles, written out by hand."""

from __future__ import annotations

import textwrap

import pytest

from spinout.code.transform import (
    KIND_ADDED,
    KIND_ATTRIBUTE,
    KIND_FROM,
    KIND_IMPORT,
    KIND_KEPT_PARENT,
    KIND_RELATIVE,
    KIND_REMOVED,
    KIND_SPLIT,
    KIND_STRING,
    FileContext,
    Renamer,
    resolve_relative,
    rewrite_module,
)
from spinout.plan.modules import ModuleMap

# acme/services/lb/ moved to acme_lb/services/lb/; acme/db/lb/models.py moved and was renamed (last component).
MOVES = ModuleMap(
    {
        "acme.services.lb": ("acme_lb.services.lb", "acme-lb"),
        "acme.services.lb.plugin": ("acme_lb.services.lb.plugin", "acme-lb"),
        "acme.services.lb.drivers": ("acme_lb.services.lb.drivers", "acme-lb"),
        "acme.services.lb.drivers.haproxy": ("acme_lb.services.lb.drivers.haproxy", "acme-lb"),
        "acme.db.lb.models": ("acme_lb.db.lb_models", "acme-lb"),
    }
)
RENAMER = Renamer(MOVES)
CORE_FILE = FileContext("acme/agent/l3.py", "acme.agent.l3", "acme.agent.l3", False)


def rw(src: str, ctx: FileContext = CORE_FILE) -> tuple[str, list[tuple[int, str, str, str]]]:
    out = rewrite_module(textwrap.dedent(src).encode(), ctx, RENAMER)
    return out.after.decode(), [(r.line, r.old, r.new, r.kind) for r in out.rewrites]


def same(src: str) -> str:
    return textwrap.dedent(src)


def test_import_dotted_and_chain() -> None:
    after, recs = rw("""\
        import acme.services.lb.plugin

        p = acme.services.lb.plugin.Plugin()
        """)
    assert after == same("""\
        import acme_lb.services.lb.plugin

        p = acme_lb.services.lb.plugin.Plugin()
        """)
    assert recs == [
        (1, "acme.services.lb.plugin", "acme_lb.services.lb.plugin", KIND_IMPORT),
        (3, "acme.services.lb.plugin", "acme_lb.services.lb.plugin", KIND_ATTRIBUTE),
    ]


def test_import_as() -> None:
    after, _ = rw("import acme.services.lb.plugin as lbp  # keep me\nlbp.Plugin\n")
    assert after == "import acme_lb.services.lb.plugin as lbp  # keep me\nlbp.Plugin\n"


def test_from_import_module() -> None:
    after, recs = rw("from acme.services.lb import plugin\nplugin.Plugin\n")
    assert after == "from acme_lb.services.lb import plugin\nplugin.Plugin\n"
    assert recs[0][3] == KIND_FROM


def test_from_import_name_inside_moved_module() -> None:
    after, _ = rw("from acme.services.lb.plugin import Plugin, helper as h\n")
    assert after == "from acme_lb.services.lb.plugin import Plugin, helper as h\n"


def test_from_parent_import_moved_package() -> None:
    """`from a import b` where b moved."""
    after, _ = rw("from acme.services import lb\nlb.plugin.Plugin\n")
    assert after == "from acme_lb.services import lb\nlb.plugin.Plugin\n"


def test_from_import_moved_and_kept_is_split() -> None:
    """RenameCommand bug 1: `from a import moved, kept` must become two statements."""
    after, recs = rw("""\
        from acme.services import lb, provider_configuration  # noqa
        lb.plugin
        provider_configuration.x
        """)
    assert after == same("""\
        from acme.services import provider_configuration  # noqa
        from acme_lb.services import lb
        lb.plugin
        provider_configuration.x
        """)
    assert recs == [(1, "from acme.services import lb", "from acme_lb.services import lb", KIND_SPLIT)]


def test_parenthesized_split_keeps_layout_of_kept_names() -> None:
    after, _ = rw("""\
        from acme.services import (
            lb,
            provider_configuration,  # comment stays
            service_base,
        )
        """)
    assert after == same("""\
        from acme.services import (
            provider_configuration,  # comment stays
            service_base,
        )
        from acme_lb.services import lb
        """)


def test_from_parent_import_pkg_then_moved_attribute() -> None:
    """RenameCommand bug 2: `from parent import pkg` followed by `pkg.moved.x`."""
    after, recs = rw("""\
        from acme import services

        services.lb.plugin.Plugin()
        """)
    assert after == same("""\
        import acme_lb.services.lb.plugin

        acme_lb.services.lb.plugin.Plugin()
        """)
    kinds = [r[3] for r in recs]
    assert kinds == [KIND_REMOVED, KIND_ADDED, KIND_ATTRIBUTE]


def test_from_parent_import_pkg_still_used_is_kept() -> None:
    after, _ = rw("""\
        from acme import services

        services.lb.plugin.Plugin()
        services.service_base.Base()
        """)
    assert after == same("""\
        from acme import services
        import acme_lb.services.lb.plugin

        acme_lb.services.lb.plugin.Plugin()
        services.service_base.Base()
        """)


def test_import_only_binding_of_top_package_keeps_parent() -> None:
    """RenameCommand bug 3: `import a.b.c` was the only binding of `a`, and `a.kept` is still used."""
    after, recs = rw("""\
        import acme.services.lb.plugin

        acme.services.lb.plugin.Plugin()
        acme.services.service_base.Base()
        """)
    assert after == same("""\
        import acme_lb.services.lb.plugin
        import acme.services

        acme_lb.services.lb.plugin.Plugin()
        acme.services.service_base.Base()
        """)
    assert (1, "", "import acme.services", KIND_KEPT_PARENT) in recs


def test_import_with_other_binding_of_top_adds_nothing() -> None:
    after, _ = rw("""\
        import acme.services.lb.plugin
        import acme.agent

        acme.services.lb.plugin.Plugin()
        acme.agent.x
        """)
    assert after == same("""\
        import acme_lb.services.lb.plugin
        import acme.agent

        acme_lb.services.lb.plugin.Plugin()
        acme.agent.x
        """)


def test_last_component_renamed_keeps_local_name() -> None:
    """RenameCommand bug 4: the module's last component changes; the code's name for it must not."""
    after, _ = rw("from acme.db.lb import models\nmodels.Pool\n")
    assert after == "from acme_lb.db import lb_models as models\nmodels.Pool\n"
    after, _ = rw("import acme.db.lb.models\nacme.db.lb.models.Pool\n")
    assert after == "import acme_lb.db.lb_models\nacme_lb.db.lb_models.Pool\n"


def test_split_into_two_destinations_keeps_comment() -> None:
    after, _ = rw("from acme.services.lb import plugin, drivers  # c\n")
    assert after == "from acme_lb.services.lb import plugin, drivers  # c\n"
    after, _ = rw("import os\nfrom acme.db.lb import models, other  # c\n")
    assert after == "import os\nfrom acme.db.lb import other  # c\nfrom acme_lb.db import lb_models as models\n"


def test_module_import_star() -> None:
    after, _ = rw("from acme.services.lb.plugin import *\n")
    assert after == "from acme_lb.services.lb.plugin import *\n"


def test_stayed_in_core_prefix_trap() -> None:
    """Modules sharing a prefix with moved ones, but that stayed, are never renamed (the 2014 mistake)."""
    src = same("""\
        import acme.services.provider_configuration
        from acme.services import service_base
        from acme.services.lbaas_extra import X
        s = "acme.services.lbaas_extra.X"
        t = "acme.services.provider_configuration"
        acme.services.provider_configuration.f()
        """)
    after, recs = rw(src)
    assert after == src
    assert recs == []


def test_strings_on_dotted_name_boundaries() -> None:
    after, recs = rw("""\
        mock.patch('acme.services.lb.plugin.Plugin.create')
        cfg.StrOpt('driver', default="acme.services.lb.drivers.haproxy:Driver")
        importutils.import_class('acme.services.lb.plugin.Plugin')
        no = "xacme.services.lb.plugin", "acme.services.lbx", "a.acme.services.lb"
        f"{x} acme.services.lb.plugin"
        """)
    assert after == same("""\
        mock.patch('acme_lb.services.lb.plugin.Plugin.create')
        cfg.StrOpt('driver', default="acme_lb.services.lb.drivers.haproxy:Driver")
        importutils.import_class('acme_lb.services.lb.plugin.Plugin')
        no = "xacme.services.lb.plugin", "acme.services.lbx", "a.acme.services.lb"
        f"{x} acme_lb.services.lb.plugin"
        """)
    assert [r[3] for r in recs] == [KIND_STRING] * 4
    assert recs[1][1:3] == ("acme.services.lb.drivers.haproxy", "acme_lb.services.lb.drivers.haproxy")


def test_formatting_and_comments_elsewhere_byte_identical() -> None:
    src = same("""\
        # -*- coding: utf-8 -*-
        \"\"\"Doc.\"\"\"
        import os ,  sys   # odd spacing
        from acme.services.lb import plugin


        class  A( object ) :   # comment
            x = [1,
                 2 ,3]
            def f(self):
                return os.path.join( 'a' ,sys.argv[0] )  # tail
        """)
    after, _ = rw(src)
    assert after == src.replace("from acme.services.lb import", "from acme_lb.services.lb import")


def relative_ctx(old: str, new: str, package: bool = False) -> FileContext:
    return FileContext(new.replace(".", "/") + ".py", old, new, package)


def test_relative_import_still_valid_is_left_alone() -> None:
    ctx = relative_ctx("acme.services.lb.plugin", "acme_lb.services.lb.plugin")
    src = "from . import drivers\nfrom .drivers import haproxy\n"
    after, recs = rw(src, ctx)
    assert after == src
    assert recs == []


def test_relative_import_into_core_becomes_absolute() -> None:
    """`from .. import service_base` in a moved file pointed at a module that stayed in the core."""
    ctx = relative_ctx("acme.services.lb.plugin", "acme_lb.services.lb.plugin")
    after, recs = rw("from .. import service_base, provider_configuration as pc\nfrom . import drivers\n", ctx)
    assert after == "from acme.services import service_base, provider_configuration as pc\nfrom . import drivers\n"
    assert recs[0][3] == KIND_RELATIVE


def test_relative_import_mixed_is_split() -> None:
    ctx = relative_ctx("acme.services.lb.plugin", "acme_lb.services.lb.plugin")
    after, _ = rw("from .. import lb, service_base\n", ctx)
    assert after == "from .. import lb\nfrom acme.services import service_base\n"


def test_relative_import_in_core_file_untouched() -> None:
    src = "from . import l2\nfrom ..services import service_base\n"
    after, _ = rw(src)
    assert after == src


@pytest.mark.parametrize(
    ("module", "package", "level", "name", "expected"),
    [
        ("a.b.c", False, 1, None, "a.b"),
        ("a.b.c", False, 2, "x", "a.x"),
        ("a.b", True, 1, "x", "a.b.x"),
        ("a.b", True, 2, None, "a"),
        ("a", False, 1, None, None),
        ("a.b.c", False, 4, None, None),
    ],
)
def test_resolve_relative(module: str, package: bool, level: int, name: str | None, expected: str | None) -> None:
    assert resolve_relative(module, package, level, name) == expected


def test_nested_import_in_function_and_alias_list() -> None:
    after, _ = rw("""\
        def f():
            import os, acme.services.lb.plugin
            return acme.services.lb.plugin.Plugin, os
        """)
    assert after == same("""\
        def f():
            import os, acme_lb.services.lb.plugin
            return acme_lb.services.lb.plugin.Plugin, os
        """)


def test_prefilter_skips_files_without_moved_names() -> None:
    assert not RENAMER.wants(b"import acme.services.provider_configuration\n", moved_file=False)
    assert RENAMER.wants(b"from acme.services import lb\n", moved_file=False)
    assert RENAMER.wants(b"from acme import (core,\n   services as s)\n", moved_file=False)
    assert not RENAMER.wants(b"from acme import core\nfrom acme.services import service_base\n", moved_file=False)
    assert RENAMER.wants(b"x = 'acme.services.lb.plugin'\n", moved_file=False)
    assert not RENAMER.wants(b"from . import x\n", moved_file=False)
    assert RENAMER.wants(b"from . import x\n", moved_file=True)


def test_recorded_lines_inside_one_big_statement() -> None:
    _, recs = rw("""\
        # header comment

        class T:
            @mock.patch('acme.services.lb.drivers'
                        '.haproxy.Driver')
            def test_a(self):
                x = "acme.services.lb.drivers.haproxy"

            def test_b(self):
                import acme.services.lb.plugin
                return acme.services.lb.plugin.Plugin, "acme.services.lb.drivers acme.services.lb"
        """)
    assert [(r[0], r[1], r[3]) for r in recs] == [
        (4, "acme.services.lb.drivers", KIND_STRING),
        (7, "acme.services.lb.drivers.haproxy", KIND_STRING),
        (10, "acme.services.lb.plugin", KIND_IMPORT),
        (11, "acme.services.lb.plugin", KIND_ATTRIBUTE),
        (11, "acme.services.lb.drivers", KIND_STRING),
        (11, "acme.services.lb", KIND_STRING),
    ]


def test_moved_top_level_package() -> None:
    """A top-level package that moves: `import top.x` binds `top` itself, so the chains' bases change."""
    renamer = Renamer(
        ModuleMap({"lbtop": ("acme_lb.top", "acme-lb"), "lbtop.plugin": ("acme_lb.top.plugin", "acme-lb")})
    )
    src = "import lbtop.plugin\n\nlbtop.plugin.Plugin()\nlbtop.CONST\n"
    out = rewrite_module(src.encode(), CORE_FILE, renamer)
    assert out.after.decode() == "import acme_lb.top.plugin\n\nacme_lb.top.plugin.Plugin()\nacme_lb.top.CONST\n"
    assert [(r.line, r.old, r.new, r.kind) for r in out.rewrites] == [
        (1, "lbtop.plugin", "acme_lb.top.plugin", KIND_IMPORT),
        (3, "lbtop.plugin", "acme_lb.top.plugin", KIND_ATTRIBUTE),
        (4, "lbtop", "acme_lb.top", KIND_ATTRIBUTE),
    ]
