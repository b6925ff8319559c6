"""What held when issue 17's probes ran, kept under test: 100,000 repeated INI keys split without loss.

CI splits 20,000 (about a second); SPINOUT_INI_KEYS=100000 is the probe's size (~5.6 MB, about 6 s, well under the
16 MiB file limit). oslo.config's own ConfigParser reads every value back, in order, from the file it belongs to.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from oslo_config import cfg

from spinout.inifiles.apply import conf_split
from tests.unit.inifiles.samples import lb_values, no_rename


def _providers(path: Path) -> list[str]:
    sections: dict[str, dict[str, list[str]]] = {}
    cfg.ConfigParser(str(path), sections).parse()
    return sections.get("service_providers", {}).get("service_provider", [])


@pytest.mark.heavy
def test_many_repeated_keys_split_without_loss(tmp_path: Path) -> None:
    count = int(os.environ.get("SPINOUT_INI_KEYS", "20000"))
    values = [f"{'VPN' if i % 3 == 0 else 'LOADBALANCER'}:p{i}:acme.drivers.D{i}" for i in range(count)]
    text = "[DEFAULT]\ncore_plugin = ml2\n\n[service_providers]\n" + "".join(
        f"service_provider = {v}\n" for v in values
    )
    (tmp_path / "neutron.conf").write_text(text)
    result = conf_split(tmp_path, [lb_values()], [], no_rename)
    assert len(result.written) == 2
    assert _providers(tmp_path / "neutron_lbaas.conf") == [v for v in values if v.startswith("LOADBALANCER:")]
    assert _providers(tmp_path / "neutron.conf") == [v for v in values if v.startswith("VPN:")]
    assert conf_split(tmp_path, [lb_values()], [], no_rename).written == []
