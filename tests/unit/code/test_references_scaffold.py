"""Non-Python references and packaging, file by file."""

from __future__ import annotations

import tomllib

from tests.unit.code.monorepo import d
from tests.unit.code.test_transform import RENAMER

from spinout.code.compat import shim_source
from spinout.code.references import PathRenamer, is_reference_file, rewrite_reference
from spinout.code.scaffold import EntryPoint, core_packaging, read_entry_points, service_packaging
from spinout.plan.model import Compat, Core, Service

SERVICE = Service(name="acme-lb", package="acme_lb", paths=["acme/services/lb/"], rename={"acme/": "acme_lb/"})
TARGET_FILES = ["acme_lb/services/lb/plugin.py", "acme_lb/tests/unit/lb/test_x.py", "etc/lb.ini"]
RENAMED = {"acme.services.lb.plugin": "acme_lb.services.lb.plugin"}


def test_reference_files_selected_by_default_globs() -> None:
    for path in ("setup.cfg", "tox.ini", "MANIFEST.in", ".gitreview", "README.rst", "doc/source/x.rst", "etc/a.ini"):
        assert is_reference_file(path), path
    assert not is_reference_file("acme/x.py")
    assert not is_reference_file("bin/run")


def test_paths_renamed_only_when_they_exist_in_the_target() -> None:
    paths = PathRenamer.for_tree(SERVICE.renamed, TARGET_FILES)
    text = d("""\
        include acme/services/lb/plugin.py
        recursive-include acme/tests/unit/lb *.py
        recursive-include acme/services/fw *.py
        graft acme/db
        see xacme/services/lb/plugin.py
        """).encode()
    after, rewrites = rewrite_reference("MANIFEST.in", text, RENAMER, paths, None)
    assert after.decode() == d("""\
        include acme_lb/services/lb/plugin.py
        recursive-include acme_lb/tests/unit/lb *.py
        recursive-include acme/services/fw *.py
        graft acme/db
        see xacme/services/lb/plugin.py
        """)
    assert [(r.line, r.kind) for r in rewrites] == [(1, "reference-path"), (2, "reference-path")]


def test_ini_dotted_values_and_comments() -> None:
    text = b"[DEFAULT]\n# uses acme.services.lb.plugin\nservice_plugins = acme.services.lb.plugin.Plugin,x.y\n"
    after, rewrites = rewrite_reference("etc/acme.conf", text, RENAMER, None, None)
    assert after == text.replace(b"acme.services.lb.plugin", b"acme_lb.services.lb.plugin")
    assert [(r.line, r.kind) for r in rewrites] == [(2, "reference-name"), (3, "reference-name")]


def test_gitreview_project() -> None:
    text = b"[gerrit]\nhost=review.openstack.org\nproject=openstack/acme.git\ndefaultbranch=main\n"
    after, _ = rewrite_reference(".gitreview", text, RENAMER, None, ("acme", "acme-lb"))
    assert after == text.replace(b"openstack/acme.git", b"openstack/acme-lb.git")


SETUP_CFG = d("""\
    [metadata]
    name = acme
    summary = The core
    # keep this comment

    [files]
    packages =
        acme

    [entry_points]
    acme.plugins =
        core = acme.core:Core
        lb = acme.services.lb.plugin:Plugin
    console_scripts =
        acme-lb-agent = acme.services.lb.plugin:main
        acme-server = acme.server:main
    """)


def test_read_entry_points_from_setup_cfg_and_pyproject() -> None:
    pyproject = (
        b'[project]\nname = "x"\n[project.scripts]\nrun = "a.b:main"\n[project.entry-points."g.h"]\ne = "c.d:E"\n'
    )
    eps = read_entry_points({"setup.cfg": SETUP_CFG.encode(), "pyproject.toml": pyproject})
    assert eps == [
        EntryPoint("acme.plugins", "core", "acme.core:Core"),
        EntryPoint("acme.plugins", "lb", "acme.services.lb.plugin:Plugin"),
        EntryPoint("console_scripts", "acme-lb-agent", "acme.services.lb.plugin:main"),
        EntryPoint("console_scripts", "acme-server", "acme.server:main"),
        EntryPoint("console_scripts", "run", "a.b:main"),
        EntryPoint("g.h", "e", "c.d:E"),
    ]


def test_pbr_service_setup_cfg_updated() -> None:
    files = {"setup.cfg": SETUP_CFG.encode(), "setup.py": b"setuptools.setup(pbr=True)\n", "requirements.txt": b"six\n"}
    eps = read_entry_points(files)
    out = service_packaging(SERVICE, Core(name="acme", package="acme"), files, eps, set(RENAMED.values()), RENAMED)
    assert sorted(out) == ["requirements.txt", "setup.cfg"]
    assert out["requirements.txt"] == b"six\nacme\n"
    assert out["setup.cfg"].decode() == d("""\
        [metadata]
        name = acme-lb
        summary = The core
        # keep this comment

        [files]
        packages =
            acme_lb

        [entry_points]
        acme.plugins =
            lb = acme_lb.services.lb.plugin:Plugin
        console_scripts =
            acme-lb-agent = acme_lb.services.lb.plugin:main
        """)


def test_pyproject_service_and_core_requires_services() -> None:
    core = Core(name="acme", package="acme", dependency="core-requires-services")
    eps = [EntryPoint("console_scripts", "lb-agent", "acme.services.lb.plugin:main")]
    out = service_packaging(SERVICE, core, {}, eps, set(RENAMED.values()), RENAMED)
    data = tomllib.loads(out["pyproject.toml"].decode())
    assert data["project"]["name"] == "acme-lb"
    assert data["project"]["dependencies"] == []
    assert data["project"]["scripts"] == {"lb-agent": "acme_lb.services.lb.plugin:main"}
    assert data["tool"]["setuptools"]["packages"]["find"]["include"] == ["acme_lb", "acme_lb.*"]

    core_pyproject = (
        b'[project]\nname = "acme"\ndependencies = [\n    "six",\n]\n'
        b'[project.scripts]\nlb-agent = "acme.services.lb.plugin:main"\n'
    )
    core_out = core_packaging(core, [SERVICE], {"pyproject.toml": core_pyproject}, eps, RENAMED)
    new = tomllib.loads(core_out["pyproject.toml"].decode())
    assert new["project"]["dependencies"] == ["acme-lb", "six"]
    assert "scripts" not in new["project"] or new["project"]["scripts"] == {}


def test_core_setup_cfg_aliases_and_requirements() -> None:
    core = Core(name="acme", package="acme", dependency="core-requires-services")
    files = {"setup.cfg": SETUP_CFG.encode(), "requirements.txt": b"six>=1\n"}
    out = core_packaging(core, [SERVICE], files, read_entry_points(files), RENAMED)
    assert out["requirements.txt"] == b"six>=1\nacme-lb\n"
    text = out["setup.cfg"].decode()
    assert text.endswith(
        d("""\
        [entry_points]
        acme.plugins =
            core = acme.core:Core
            acme.services.lb.plugin.Plugin = acme_lb.services.lb.plugin:Plugin
        console_scripts =
            acme-server = acme.server:main
        """)
    )
    no_alias = core.model_copy(
        update={"compat": Compat(entry_point_aliases=False), "dependency": "services-require-core"}
    )
    out = core_packaging(no_alias, [SERVICE], files, read_entry_points(files), RENAMED)
    assert "acme.services.lb.plugin.Plugin =" not in out["setup.cfg"].decode()
    assert "requirements.txt" not in out


def test_shim_reexports_and_warns(tmp_path: object) -> None:
    import sys
    import types
    import warnings

    new = types.ModuleType("spinout_test_new_mod")
    new.Thing = object()  # type: ignore[attr-defined]
    new._private = 1  # type: ignore[attr-defined]
    sys.modules["spinout_test_new_mod"] = new
    try:
        namespace: dict[str, object] = {"__name__": "spinout_test_old_mod"}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(shim_source("old.mod", "spinout_test_new_mod", "acme-lb"), "shim", "exec"), namespace)
        assert [w.category for w in caught] == [DeprecationWarning]
        assert "old.mod moved to spinout_test_new_mod" in str(caught[0].message)
        assert namespace["Thing"] is new.Thing  # type: ignore[attr-defined]
        assert namespace["_private"] == 1
        new.Late = 2
        getattr_ = namespace["__getattr__"]
        assert callable(getattr_) and getattr_("Late") == 2
    finally:
        del sys.modules["spinout_test_new_mod"]
