"""The sample monorepo, checked with trusted peers: git itself, Python's parser, pyflakes, SQLite, oslo.config."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from spinout import api
from spinout.errors import ToolError, UnsafeSourceError
from spinout.progress import Advanced, Finished, RecordingProgress, Started
from spinout.sample import MIN_COMMITS, SampleInfo, build_sample

PY2_FILE = "acme/services/vpn/device_drivers/cisco_csr_rest_client.py"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return build_sample(tmp_path_factory.mktemp("sample") / "s", commits=300, rows=40)


def _refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)")


def test_same_arguments_same_commit_ids_and_rows(sample: SampleInfo, tmp_path: Path) -> None:
    again = build_sample(tmp_path / "again", commits=300, rows=40)
    assert _refs(again.repo) == _refs(sample.repo)
    for table in sample.table_rows:
        assert _dump(again.database, table) == _dump(sample.database, table), table
    assert again.plan.read_text() == sample.plan.read_text()


def test_size_follows_the_parameter(sample: SampleInfo, tmp_path: Path) -> None:
    counted = len(git(sample.repo, "rev-list", "--all").split())
    assert counted == sample.history.commits
    assert 300 <= counted <= 330
    small = build_sample(tmp_path / "small", commits=MIN_COMMITS, rows=1)
    assert MIN_COMMITS <= len(git(small.repo, "rev-list", "--all").split()) < 120
    assert _refs(small.repo) != _refs(sample.repo)
    # The smallest sample still tells the whole story.
    refs = git(small.repo, "for-each-ref", "--format=%(refname)").split()
    assert {"refs/heads/main", "refs/heads/feature/lb-v2", "refs/heads/stable/2013.2", "refs/tags/2014.2.b1"} <= set(
        refs
    )
    assert small.history.reverts and small.history.cherry_picks and small.history.empty
    assert git(small.repo, "rev-list", "main..feature/lb-v2").split()
    assert api.check_plan(small.plan).exit_code == 0


def test_git_accepts_the_repository(sample: SampleInfo) -> None:
    proc = subprocess.run(["git", "-C", str(sample.repo), "fsck", "--strict"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(sample.repo, "status", "--porcelain") == ""
    assert git(sample.repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_gerrit_merges(sample: SampleInfo) -> None:
    merges = git(sample.repo, "log", "--merges", "--format=%s%x09%an", "main").splitlines()
    assert len(merges) > 50
    gerrit = [m for m in merges if m.startswith('Merge "') and m.endswith("\tJenkins")]
    assert len(gerrit) == len(merges)
    # Each Gerrit merge's second parent is the change it names.
    line = git(sample.repo, "log", "--merges", "-1", "--format=%s%x09%P", "main").strip()
    subject, parents = line.split("\t")
    second = parents.split()[1]
    assert subject == f'Merge "{git(sample.repo, "log", "-1", "--format=%s", second).strip()}"'


def test_tags_lightweight_and_annotated(sample: SampleInfo) -> None:
    kinds = dict(
        line.split(" ", 1)[::-1] for line in git(sample.repo, "for-each-ref", "--format=%(objecttype) %(refname)")
        .splitlines()
    )  # fmt: skip
    assert kinds["refs/tags/2013.1"] == "tag"
    assert kinds["refs/tags/2014.1"] == "tag"
    assert kinds["refs/tags/2013.1.b1"] == "commit"
    assert kinds["refs/tags/2014.2.b1"] == "commit"


def test_feature_and_stable_branches(sample: SampleInfo) -> None:
    own = git(sample.repo, "rev-list", "--no-merges", "main..feature/lb-v2").split()
    assert len(own) >= 3
    files = git(sample.repo, "diff", "--name-only", "main...feature/lb-v2").split("\n")
    assert "acme/services/lb/v2/plugin.py" in files
    syncs = git(sample.repo, "log", "--merges", "--format=%s", "main..feature/lb-v2").splitlines()
    assert syncs and all("origin/master" in s for s in syncs)
    assert git(sample.repo, "rev-list", "main..stable/2013.2").split()


def test_messages_quote_real_commits(sample: SampleInfo) -> None:
    reverts = re.findall(r"This reverts commit ([0-9a-f]{40})\.", git(sample.repo, "log", "--format=%B", "main"))
    picks = re.findall(r"cherry picked from commit ([0-9a-f]{40})", git(sample.repo, "log", "--format=%B", "--all"))
    assert reverts and picks
    on_main = set(git(sample.repo, "rev-list", "main").split())
    assert set(reverts) <= on_main
    assert set(picks) <= on_main
    # A revert's subject names the reverted commit's subject.
    log = git(sample.repo, "log", "--no-merges", "--format=%H%x09%s%x09%b%x00", "main").split("\0")
    for entry in log:
        if "\tRevert " in entry:
            _, subject, body = entry.strip("\n").split("\t", 2)
            reverted = re.search(r"[0-9a-f]{40}", body)
            assert reverted is not None
            assert subject == f'Revert "{git(sample.repo, "log", "-1", "--format=%s", reverted.group()).strip()}"'


def test_empty_commits(sample: SampleInfo) -> None:
    empty = []
    for line in git(sample.repo, "log", "--no-merges", "--format=%T %P", "main").splitlines():
        tree, *parents = line.split()
        if parents and git(sample.repo, "rev-parse", f"{parents[0]}^{{tree}}").strip() == tree:
            empty.append(line)
    assert len(empty) == sample.history.empty >= 2


def test_package_rename_and_moves_keep_old_history(sample: SampleInfo) -> None:
    old_lb = git(sample.repo, "log", "--format=%H", "main", "--", "quantum/plugins/services/agent_loadbalancer/")
    assert old_lb.split()
    assert git(sample.repo, "log", "--format=%H", "main", "--", "quantum/services/lb/").split()
    renames = git(sample.repo, "show", "-M", "--name-status", "--format=", sample.history.rename_commit)
    assert "R100\tquantum/db/lb/__init__.py\tacme/db/lb/__init__.py" in renames
    follow = git(
        sample.repo, "log", "--follow", "--format=%s", "main", "--", "acme/services/lb/drivers/abstract_driver.py"
    )
    assert "Add LBaaS plugin and agent" in follow.splitlines()  # reached through both moves
    assert "quantum/" not in git(sample.repo, "ls-tree", "-r", "--name-only", "main")


def test_authors_paths_and_mixed_commits(sample: SampleInfo) -> None:
    authors = set(git(sample.repo, "log", "--all", "--format=%an").splitlines())
    assert {"Jörg Müller", "山田 太郎", "Łukasz Śliwiński"} <= authors
    tree = git(sample.repo, "ls-tree", "-r", "--name-only", "-z", "main").split("\0")
    assert "doc/source/Design Notes.rst" in tree
    assert "acme/tests/unit/services/lb/test data/pool.json" in tree
    assert "acme/services/provider_configuration.py" in tree
    assert "acme/services/lb/drivers/noop_driver.py" not in tree  # removed partway through
    mixed = 0
    for block in git(sample.repo, "log", "--no-merges", "--name-only", "--format=%x00", "main").split("\0"):
        files = [f for f in block.splitlines() if f]
        core = [
            f
            for f in files
            if f.startswith("acme/") and not re.match(r"acme/(services|db|tests/unit/services)/(lb|fw|vpn)/", f)
        ]
        if core and len(core) < len(files):
            mixed += 1
    assert mixed >= 3


def test_python_sources(sample: SampleInfo) -> None:
    sources = [p for p in sample.repo.rglob("*.py") if ".git" not in p.parts]
    unparsable = []
    for path in sources:
        try:
            ast.parse(path.read_bytes())
        except SyntaxError:
            unparsable.append(path.relative_to(sample.repo).as_posix())
    assert unparsable == [PY2_FILE]
    rest = [str(p) for p in sources if not p.as_posix().endswith(PY2_FILE)]
    proc = subprocess.run([sys.executable, "-m", "pyflakes", *rest], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    l3 = ast.parse((sample.repo / "acme/agent/l3_agent.py").read_text())
    imported = {f"{n.module}.{a.name}" for n in ast.walk(l3) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "acme.services.fw.agents.l3reference.firewall_l3_agent" in imported
    # Every imported acme module exists in the tree (no dangling import); mock.patch strings name real modules.
    for path in sources:
        if path.as_posix().endswith(PY2_FILE):
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("acme"):
                for alias in node.names:
                    assert _module_exists(sample.repo, f"{node.module}.{alias.name}") or _module_exists(
                        sample.repo, node.module
                    ), (path, node.module, alias.name)
    test_plugin = (sample.repo / "acme/tests/unit/services/lb/test_plugin.py").read_text()
    assert 'mock.patch("acme.services.lb.agent.agent_manager.LbaasAgentManager")' in test_plugin
    manager = (sample.repo / "acme/services/lb/agent/agent_manager.py").read_text()
    assert '"acme.services.lb.drivers.haproxy.namespace_driver.HaproxyNSDriver"' in manager


def _module_exists(repo: Path, dotted: str) -> bool:
    base = repo / dotted.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _dump(db: Path, table: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"')))
    finally:
        engine.dispose()


_MODELS_SCRIPT = """
import json, sys
from acme.db.head import metadata
out = {}
for t in metadata.sorted_tables:
    out[t.name] = {
        "columns": sorted(c.name for c in t.columns),
        "pk": sorted(c.name for c in t.primary_key.columns),
        "fks": sorted([fk.parent.name, fk.column.table.name, fk.column.name] for fk in t.foreign_keys),
    }
json.dump(out, sys.stdout)
"""


def test_database_matches_the_repository_models(sample: SampleInfo) -> None:
    env = {**os.environ, "PYTHONPATH": str(sample.repo)}
    proc = subprocess.run([sys.executable, "-c", _MODELS_SCRIPT], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)
    engine = sa.create_engine(sample.database_url)
    try:
        insp = sa.inspect(engine)
        actual = {
            t: {
                "columns": sorted(c["name"] for c in insp.get_columns(t)),
                "pk": sorted(insp.get_pk_constraint(t)["constrained_columns"]),
                "fks": sorted(
                    [col, fk["referred_table"], ref]
                    for fk in insp.get_foreign_keys(t)
                    for col, ref in zip(fk["constrained_columns"], fk["referred_columns"], strict=True)
                ),
            }
            for t in insp.get_table_names()
        }
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).fetchall() == []
            counts = {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in actual}
    finally:
        engine.dispose()
    assert actual == models
    assert ["port_id", "ports", "id"] in actual["vips"]["fks"]
    assert ["router_id", "routers", "id"] in actual["vpnservices"]["fks"]
    assert actual["poolmonitorassociations"]["pk"] == ["monitor_id", "pool_id"]
    assert actual["lbaas_stats_log"]["pk"] == []
    assert counts == sample.table_rows
    assert all(n > 0 for n in counts.values())


def test_enum_column_rejects_other_values(sample: SampleInfo) -> None:
    engine = sa.create_engine(sample.database_url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE vips SET protocol = 'UDP'"))
    finally:
        engine.dispose()


def test_oslo_config_reads_the_repeated_service_providers(sample: SampleInfo) -> None:
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.MultiStrOpt("service_provider"), group="service_providers")
    conf.register_opt(cfg.ListOpt("service_plugins"))
    conf.register_opt(cfg.StrOpt("api_extensions_path"))
    conf.register_opt(cfg.StrOpt("connection"), group="database")
    conf(args=[], default_config_files=[str(sample.config_dir / "acme.conf")])
    kinds = [p.split(":")[0] for p in conf.service_providers.service_provider]
    assert kinds == ["LOADBALANCER", "VPN", "FIREWALL", "LOADBALANCER"]  # the commented samples do not count
    assert conf.service_plugins[0] == "acme.services.lb.plugin.LoadBalancerPlugin"
    assert conf.database.connection == sample.database_url
    repo_conf = (sample.repo / "etc/acme.conf").read_text()
    assert repo_conf.count("service_provider = ") == 6 and "\n# service_provider = LOADBALANCER:Radware" in repo_conf
    services = (sample.config_dir / "services.conf").read_text()
    assert {"[radware]", "[haproxy]", "[netscaler_driver]", "[heleoslb]"} <= set(services.splitlines())


def test_the_sample_plan_passes_plan_check(sample: SampleInfo) -> None:
    result = api.check_plan(sample.plan)
    assert result.exit_code == 0
    assert [s.name for s in result.plan.service] == ["acme-lb", "acme-fw", "acme-vpn"]
    lb = result.plan.service[0]
    assert lb.follow_renames and lb.merge == ["refs/heads/feature/lb-v2"]
    assert result.main_commit == git(sample.repo, "rev-parse", "main").strip()


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UnsafeSourceError, match="is not empty"):
        build_sample(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    with pytest.raises(ValueError, match="at least"):
        build_sample(tmp_path / "new", commits=MIN_COMMITS - 1)


def test_reports_progress(tmp_path: Path) -> None:
    progress = RecordingProgress()
    info = build_sample(tmp_path / "s", commits=MIN_COMMITS, rows=5, progress=progress)
    assert [e.task for e in progress.of(Started)] == ["sample", "sample-db"]
    assert [e.task for e in progress.of(Finished)] == ["sample", "sample-db"]
    assert any(str(info.plan) in n for n in progress.notes())
    advanced = [e for e in progress.of(Advanced) if e.task == "sample"]
    assert len(advanced) >= 10
    assert advanced[-1].completed == info.history.commits
    assert [e.completed for e in advanced] == sorted(e.completed for e in advanced)


@pytest.mark.heavy
def test_large_sample_is_fast(tmp_path: Path) -> None:
    """Benchmarks use 50,000 commits, which must take well under a minute; CI checks a smaller size
    (SPINOUT_SAMPLE_COMMITS scales it up). CPU time is bounded in proportion: wall time on a shared machine is not."""
    commits = int(os.environ.get("SPINOUT_SAMPLE_COMMITS", "5000"))
    started, cpu = time.monotonic(), _cpu()
    info = build_sample(tmp_path / "big", commits=commits, rows=10)
    elapsed, used = time.monotonic() - started, _cpu() - cpu
    assert commits <= len(git(info.repo, "rev-list", "--all").split()) <= commits * 1.02 + 20
    assert used < 30 * commits / 50_000 + 2, used
    assert elapsed < 60, elapsed


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def test_every_merge_is_what_git_merge_makes(sample: SampleInfo) -> None:
    """Each merge commit's tree is the clean three-way merge of its parents, as `git merge-tree` computes it."""
    merges = git(sample.repo, "log", "--all", "--merges", "--format=%H %T %P").splitlines()
    assert len(merges) > 50
    for line in merges:
        commit, tree, first, second = line.split()
        proc = subprocess.run(
            ["git", "-C", str(sample.repo), "merge-tree", "--write-tree", first, second],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, (commit, proc.stdout)  # 1 would mean a conflict
        assert proc.stdout.split()[0] == tree, commit


def test_missing_git_is_a_tool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolError, match="git is not installed"):
        build_sample(tmp_path / "s", commits=MIN_COMMITS)


_IMPORT_SCRIPT = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def test_every_module_imports(sample: SampleInfo) -> None:
    """The code is real: every module outside the tests (except the Python 2 one) imports with the repository on
    the path."""
    modules = []
    for path in sorted(sample.repo.glob("acme/**/*.py")):
        rel = path.relative_to(sample.repo).as_posix()
        if rel == PY2_FILE or "/tests/" in rel:
            continue
        modules.append(rel[: -len(".py")].replace("/", ".").removesuffix(".__init__"))
    assert "acme.agent.l3_agent" in modules and "acme.services.lb.plugin" in modules
    env = {**os.environ, "PYTHONPATH": str(sample.repo)}
    proc = subprocess.run([sys.executable, "-c", _IMPORT_SCRIPT, *modules], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


def test_plan_fits_the_database_and_config(sample: SampleInfo) -> None:
    """Every table is the core's or claimed by exactly one service; every config rule's section exists."""
    plan = api.check_plan(sample.plan).plan
    engine = sa.create_engine(sample.database_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    claimed = [t for svc in plan.service for t in svc.tables]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) <= tables
    assert tables - set(claimed) == {"networks", "subnets", "ports", "routers", "agents"}
    for svc in plan.service:
        for rule in svc.config:
            text = (sample.repo / rule.from_).read_text()
            assert f"[{rule.section}]" in text.splitlines(), (svc.name, rule.section)
            if rule.match is not None:
                prefix = rule.match.rstrip("*")
                assert f"{rule.key} = {prefix}" in text
