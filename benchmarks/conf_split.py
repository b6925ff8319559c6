"""Benchmark: `conf split` on a large generated neutron.conf against oslo.config merely reading it.

Generates a config of `--sections` sections with `--options` options each (every option under a comment block,
every tenth section a repeated `service_provider` list with `--providers` lines), and plan rules that move a third of
the sections, named options of another third and the LOADBALANCER providers. Times, `--runs` times each, medians:

* spinout: `spinout.inifiles.apply.conf_split` on a fresh copy of the directory — parse (oslo.config's parser and
  spinout's block model over the same lines), split, back up, write atomically, and the oslo.config equivalence check
  (which reads the backups and the new files again);
* the anchor: `oslo_config.cfg.ConfigParser` parsing the same file once (what every service does at start-up).

Run: `.venv/bin/python -m benchmarks.conf_split [--sections 300] [--options 30] [--providers 40] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from oslo_config import cfg

from spinout.inifiles.apply import conf_split
from spinout.inifiles.split import ServiceRule
from spinout.plan.model import ConfigRule


def generate(sections: int, options: int, providers: int) -> str:
    out = ["# generated neutron.conf\n", "[DEFAULT]\n", "core_plugin = ml2\n", "\n"]
    for s in range(sections):
        out.append(f"[section_{s}]\n")
        if s % 10 == 0:
            out.append("# Must be in form:\n# service_provider=<service_type>:<name>:<driver>[:default]\n")
            for p in range(providers):
                kind = "LOADBALANCER" if p % 2 else "VPN"
                out.append(f"service_provider = {kind}:p{p}:neutron.services.x{p}.driver.Driver\n")
        for o in range(options):
            out.append(f"# Option {o} of section {s}: what it does.\n# opt_{o} = default\n")
            out.append(f"opt_{o} = value {s}.{o}\n")
            if o % 7 == 0:
                out.append("\n")
        out.append("\n")
    return "".join(out)


def rules(sections: int) -> list[ServiceRule]:
    out: list[ServiceRule] = []
    for s in range(sections):
        fields: dict[str, object] = {"from": "neutron.conf", "to": f"svc_{s % 3}.conf", "section": f"section_{s}"}
        if s % 10 == 0:
            fields.update(key="service_provider", match="LOADBALANCER:*")
        elif s % 3 == 1:
            fields["options"] = ["opt_1", "opt_2", "opt_5"]
        elif s % 3 != 0:
            continue
        out.append(ServiceRule("svc", f"service[0].config[{len(out)}]", ConfigRule.model_validate(fields)))
    return out


def rename(dotted: str) -> str | None:
    old = "neutron.services."
    return "neutron_lbaas.services." + dotted[len(old) :] if dotted.startswith(old) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", type=int, default=300)
    ap.add_argument("--options", type=int, default=30)
    ap.add_argument("--providers", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    text = generate(args.sections, args.options, args.providers)
    picked = rules(args.sections)
    with tempfile.TemporaryDirectory(prefix="spinout-bench-conf-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        (base / "neutron.conf").write_text(text)
        spin, anchor = [], []
        for run in range(args.runs):
            work = Path(tmp) / f"run{run}"
            shutil.copytree(base, work)
            t0 = time.perf_counter()
            result = conf_split(work, picked, [], rename)
            spin.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sections: dict[str, dict[str, list[str]]] = {}
            cfg.ConfigParser(str(base / "neutron.conf"), sections).parse()
            anchor.append(time.perf_counter() - t0)
        lines = text.count("\n")
        size = f"{len(text) / 1e6:.2f} MB"
        print(f"neutron.conf: {lines} lines, {size}; {len(picked)} rules; {len(result.written)} files written")
        print(f"spinout conf split (parse x2, split, backup, write, verify): {statistics.median(spin) * 1000:.1f} ms")
        print(f"anchor oslo.config ConfigParser.parse (read once):          {statistics.median(anchor) * 1000:.1f} ms")
        print(f"ratio: {statistics.median(spin) / statistics.median(anchor):.1f}x")


if __name__ == "__main__":
    main()
