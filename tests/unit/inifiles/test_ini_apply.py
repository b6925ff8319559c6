"""conf split on a real directory: dry run, atomic writes with backups, mode and owner, idempotence, the oslo.config
equivalence check catching a planted loss, malformed inputs with nothing written, rollback of an interrupted run."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from tests.unit.inifiles.samples import NEUTRON_CONF, lb_values, rename, rule, setting

from spinout.errors import VerificationFailed
from spinout.inifiles.apply import PENDING, conf_split
from spinout.inifiles.document import IniSyntaxError
from spinout.inifiles.files import atomic_write
from spinout.progress import RecordingProgress

LB_RULES = [
    lb_values(),
    rule(**{"from": "neutron.conf", "to": "neutron_lbaas.conf", "section": "radware", "n": 1}),
]
VPN_RULE = rule("vpn", **{"from": "neutron.conf", "to": "neutron_vpnaas.conf", "section": "service_providers"})
SETTINGS = [setting(file="neutron.conf", section="DEFAULT", key="service_plugins", value="vpnaas", action="append")]


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    d = tmp_path / "etc-neutron"
    d.mkdir()
    (d / "neutron.conf").write_text(NEUTRON_CONF)
    (d / "l3_agent.ini").write_text("[DEFAULT]\n# untouched\ninterface_driver = ovs\n")
    return d


def test_dry_run_prints_a_diff_and_writes_nothing(etc: Path) -> None:
    before = _snapshot(etc)
    result = conf_split(etc, LB_RULES, SETTINGS, rename, dry_run=True)
    assert _snapshot(etc) == before
    assert set(result.diffs) == {"neutron.conf", "neutron_lbaas.conf"}
    lb = result.diffs["neutron_lbaas.conf"]
    assert lb.startswith("--- /dev/null\n+++ b/neutron_lbaas.conf\n")
    assert "+[radware]\n" in lb
    core = result.diffs["neutron.conf"]
    assert core.startswith("--- a/neutron.conf\n+++ b/neutron.conf\n")
    assert "-service_plugins = router,neutron.services.loadbalancer.plugin.LoadBalancerPlugin\n" in core
    assert "+service_plugins = router,neutron_lbaas.services.loadbalancer.plugin.LoadBalancerPlugin,vpnaas\n" in core
    assert any(line.startswith("+++ b/neutron_lbaas.conf") for line in result.lines())


def test_split_writes_backs_up_and_keeps_untouched_files_byte_for_byte(etc: Path) -> None:
    untouched = (etc / "l3_agent.ini").read_bytes()
    result = conf_split(etc, [*LB_RULES, VPN_RULE], SETTINGS, rename)
    assert (etc / "l3_agent.ini").read_bytes() == untouched
    assert sorted(Path(p).name for p in result.written) == ["neutron.conf", "neutron_lbaas.conf", "neutron_vpnaas.conf"]
    backup = result.backups[str(etc / "neutron.conf")]
    assert backup is not None and Path(backup).read_text() == NEUTRON_CONF
    assert Path(backup).name.startswith("neutron.conf.spinout-") and backup.endswith(".bak")
    assert result.backups[str(etc / "neutron_lbaas.conf")] is None  # it is new
    assert not (etc / PENDING).exists()
    assert not [p for p in etc.iterdir() if p.name.endswith(".tmp")]
    assert "[haproxy]\nuser_group = nogroup\n" in (etc / "neutron.conf").read_text()


def test_the_1492069_scenario_repeated_providers_read_back_by_oslo_config(etc: Path) -> None:
    """Both LOADBALANCER providers land in neutron_lbaas.conf and oslo.config reads both back as a MultiStrOpt."""
    conf_split(etc, [lb_values()], [], rename)
    conf = cfg.ConfigOpts()
    conf.register_opt(cfg.MultiStrOpt("service_provider"), group="service_providers")
    conf(args=[], default_config_files=[str(etc / "neutron_lbaas.conf")])
    assert conf.service_providers.service_provider == [
        "LOADBALANCER:Haproxy:neutron_lbaas.services.loadbalancer.drivers.haproxy.plugin_driver."
        "HaproxyOnHostPluginDriver:default",
        "LOADBALANCER:Octavia:neutron_lbaas.services.loadbalancer.drivers.octavia.Driver",
    ]
    core = cfg.ConfigOpts()
    core.register_opt(cfg.MultiStrOpt("service_provider"), group="service_providers")
    core(args=[], default_config_files=[str(etc / "neutron.conf")])
    assert core.service_providers.service_provider == [  # stays in the core, its dotted path rewritten
        "VPN:openswan:neutron_vpnaas.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default"
    ]


def test_running_twice_changes_nothing(etc: Path) -> None:
    conf_split(etc, [*LB_RULES, VPN_RULE], SETTINGS, rename)
    after_first = _snapshot(etc)
    second = conf_split(etc, [*LB_RULES, VPN_RULE], SETTINGS, rename)
    assert _snapshot(etc) == after_first  # no file changed, no new backup
    assert second.written == [] and second.changed == []
    assert second.lines()[-1] == f"config in {etc} is already split: nothing to change"


def test_mode_is_preserved_and_a_new_file_takes_its_sources_mode(etc: Path) -> None:
    os.chmod(etc / "neutron.conf", 0o640)
    conf_split(etc, LB_RULES, [], rename)
    assert stat.S_IMODE((etc / "neutron.conf").stat().st_mode) == 0o640
    assert stat.S_IMODE((etc / "neutron_lbaas.conf").stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_is_preserved(etc: Path) -> None:
    os.chown(etc / "neutron.conf", 4242, 4343)
    conf_split(etc, LB_RULES, [], rename)
    for name in ("neutron.conf", "neutron_lbaas.conf"):
        st = (etc / name).stat()
        assert (st.st_uid, st.st_gid) == (4242, 4343)


def test_equivalence_check_catches_a_planted_loss_and_restores_the_backups(etc: Path) -> None:
    before = _snapshot(etc)

    def lossy_writer(path: Path, text: str, like: Path | None) -> None:
        # Drops the second LOADBALANCER provider: the bug 1492069 kind of loss.
        atomic_write(path, text.replace("service_provider = LOADBALANCER:Octavia", "# dropped"), like)

    progress = RecordingProgress()
    with pytest.raises(VerificationFailed) as err:
        conf_split(etc, LB_RULES, SETTINGS, rename, writer=lossy_writer, progress=progress)
    assert "lost 1 x [service_providers] service_provider = 'LOADBALANCER:Octavia:" in err.value.message
    assert _snapshot(etc) == before  # restored, the new file removed, and no backup left: as it was
    assert "put 2 file(s) back as they were" in progress.notes()


def test_equivalence_check_catches_a_planted_duplicate(etc: Path) -> None:
    def doubling_writer(path: Path, text: str, like: Path | None) -> None:
        atomic_write(path, text.replace("vdirect_address = 10.0.0.1\n", "vdirect_address = 10.0.0.1\n" * 2), like)

    with pytest.raises(VerificationFailed, match=r"gained 1 x \[radware\] vdirect_address = '10.0.0.1'"):
        conf_split(etc, LB_RULES, [], rename, writer=doubling_writer)
    assert (etc / "neutron.conf").read_text() == NEUTRON_CONF
    assert not (etc / "neutron_lbaas.conf").exists()


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("neutron.conf", "[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n", "neutron.conf:3: section [DEFAULT] appears twice"),
        ("neutron.conf", "[DEFAULT]\n\n   stray\n", "neutron.conf:3: Unexpected continuation line"),
        ("neutron.conf", "[DEFAULT]\na = 1\n  # note\n", "neutron.conf:3: indented comment"),
        ("neutron_lbaas.conf", b"[x]\n# caf\xe9\n", "neutron_lbaas.conf:2: byte 0xe9 is not valid UTF-8"),
    ],
)
def test_a_malformed_file_stops_the_run_with_nothing_written(
    etc: Path, name: str, content: str | bytes, where: str
) -> None:
    path = etc / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = _snapshot(etc)
    with pytest.raises(IniSyntaxError) as err:
        conf_split(etc, LB_RULES, SETTINGS, rename)
    assert where in err.value.message
    assert str(etc) in err.value.message  # the full path of the file
    assert _snapshot(etc) == before


def test_a_missing_source_file_is_named(tmp_path: Path) -> None:
    from spinout.errors import UnsafeSourceError

    with pytest.raises(UnsafeSourceError, match=r"config files missing from .*: neutron\.conf"):
        conf_split(tmp_path, LB_RULES, [], rename)
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_file_is_named(etc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = etc / "neutron.conf"
    if os.geteuid() != 0:
        target.chmod(0)
    else:  # root reads any file: make the read fail the way it fails for an ordinary user
        real = os.open

        def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if Path(path) == target:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", open_)
    with pytest.raises(IniSyntaxError, match=r"neutron\.conf:0: cannot be read: Permission denied"):
        conf_split(etc, LB_RULES, [], rename)
    assert not (etc / "neutron_lbaas.conf").exists()


def test_flat_and_repository_layouts(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "neutron.conf").write_text(NEUTRON_CONF)
    repo_rule = rule(**{"from": "etc/neutron.conf", "to": "etc/neutron_lbaas.conf", "section": "radware"})
    conf_split(tmp_path, [repo_rule], [], rename)
    assert (tmp_path / "etc" / "neutron_lbaas.conf").read_text().startswith("[radware]\n")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "neutron.conf").write_text(NEUTRON_CONF)
    conf_split(flat, [repo_rule], [], rename)  # a deployment's /etc/neutron: files by their bare names
    assert (flat / "neutron_lbaas.conf").read_text().startswith("[radware]\n")


def test_an_interrupted_write_is_rolled_back_on_the_next_run(etc: Path) -> None:
    class Crash(BaseException):
        pass

    calls = []

    def crashing_writer(path: Path, text: str, like: Path | None) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise Crash  # dies after the first file was written
        atomic_write(path, text, like)

    # A crash the process survives is rolled back at once...
    with pytest.raises(Crash):
        conf_split(etc, LB_RULES, [], rename, writer=crashing_writer)
    assert (etc / "neutron.conf").read_text() == NEUTRON_CONF
    assert not (etc / "neutron_lbaas.conf").exists()
    # ...one it does not survive (power loss) leaves the pending marker, which the next run rolls back first.
    bak = etc / "neutron.conf.spinout-x.bak"
    bak.write_text(NEUTRON_CONF)
    (etc / "neutron.conf").write_text("[DEFAULT]\nhalf = written\n")
    (etc / "neutron_lbaas.conf").write_text("[radware]\n")
    (etc / PENDING).write_text(
        json.dumps({"files": {str(etc / "neutron.conf"): str(bak), str(etc / "neutron_lbaas.conf"): None}})
    )
    result = conf_split(etc, LB_RULES, [], rename)
    assert len(result.recovered) == 2
    assert (etc / "neutron_lbaas.conf").read_text().startswith("[service_providers]\n# Must be in form:\n")
    assert "[DEFAULT]\n# The core plugin\n" in (etc / "neutron.conf").read_text()
    assert not (etc / PENDING).exists()


def test_a_symlinked_config_file_stays_a_link(etc: Path, tmp_path: Path) -> None:
    real = tmp_path / "shared" / "neutron.conf"
    real.parent.mkdir()
    (etc / "neutron.conf").rename(real)
    (etc / "neutron.conf").symlink_to(real)
    conf_split(etc, LB_RULES, [], rename)
    assert (etc / "neutron.conf").is_symlink()
    assert "LOADBALANCER" not in real.read_text()
    assert "[radware]" in (etc / "neutron_lbaas.conf").read_text()


def test_the_marker_lists_every_file_relative_to_the_directory_before_the_first_backup(
    etc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed at any moment after its marker is written is rolled back by the next one: so the marker comes
    first, names every backup before it is made, and names files relative to the directory (a copy of the directory
    recovers its own files)."""
    from spinout.inifiles import apply

    seen: list[dict[str, Any]] = []
    real = apply.make_backup

    def make_backup(path: Path, dest: Path, data: bytes) -> None:
        marker = json.loads((etc / PENDING).read_text())
        assert not dest.exists()
        seen.append(marker)
        real(path, dest, data)

    monkeypatch.setattr(apply, "make_backup", make_backup)
    result = conf_split(etc, LB_RULES, [], rename)
    assert len(seen) == 1  # one existing file changes: one backup
    backup = Path(result.backups[str(etc / "neutron.conf")] or "")
    assert seen[0]["version"] == 2
    assert seen[0]["files"] == {"neutron.conf": backup.name, "neutron_lbaas.conf": None}
    assert not (etc / PENDING).exists()


def test_recovery_puts_back_exactly_what_the_interrupted_run_changed(etc: Path) -> None:
    """A version-2 marker: a file written (its backup is renamed back), a file not yet written (its backup, same
    content, is removed), a backup never made (nothing to do), a new file (removed), a temporary file (removed)."""
    original = (etc / "neutron.conf").read_bytes()
    (etc / "l3_agent.ini").write_text("[DEFAULT]\nhalf = written\n")
    (etc / "l3_agent.ini.spinout-s.bak").write_text("[DEFAULT]\n# untouched\ninterface_driver = ovs\n")
    (etc / "neutron.conf.spinout-s.bak").write_bytes(original)
    (etc / "neutron_lbaas.conf").write_text("[radware]\n")
    (etc / ".neutron.conf.abcd_123.tmp").write_text("[DEFAULT]\n")
    (etc / PENDING).write_text(
        json.dumps(
            {
                "version": 2,
                "files": {
                    "l3_agent.ini": "l3_agent.ini.spinout-s.bak",
                    "neutron.conf": "neutron.conf.spinout-s.bak",
                    "never.conf": "never.conf.spinout-s.bak",
                    "neutron_lbaas.conf": None,
                },
            }
        )
    )
    result = conf_split(etc, LB_RULES, [], rename)
    assert (etc / "l3_agent.ini").read_text() == "[DEFAULT]\n# untouched\ninterface_driver = ovs\n"
    assert sorted(p.name for p in etc.iterdir() if ".spinout-s." in p.name or p.suffix == ".tmp") == []
    assert not (etc / "never.conf").exists()
    assert len(result.recovered) == 5, result.recovered
    assert "removed" in result.recovered[-1] and ".neutron.conf.abcd_123.tmp" in result.recovered[-1]
    assert (etc / "neutron_lbaas.conf").read_text().startswith("[service_providers]\n")  # then split again
