"""The sample monorepo: a deterministic, realistic stand-in for Neutron at the Kilo split, and the plan that
splits it.

`build_sample(dest)` writes into an empty directory:

- `acme/` — a git repository (see `spinout.sample.history`): core package `acme` plus load balancer, firewall and
  VPN services, with the history shapes real monorepos have;
- `acme.db` — a SQLite database with core and service tables (see `spinout.sample.database`);
- `config/` — a deployment's configuration directory (`acme.conf` with repeated `service_provider` keys,
  `services.conf`, the agents' INI files);
- `plan.toml` — the plan that spins off the three services.

Same arguments, same bytes: commit ids, rows and files do not change between runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spinout.errors import UnsafeSourceError
from spinout.progress import NullProgress, Progress
from spinout.sample.database import CORE_TABLES, SERVICE_TABLES, build_database, sqlite_url
from spinout.sample.files import FINAL_ERA, acme_conf, render, services_conf
from spinout.sample.history import Summary, build_history

__all__ = ["MIN_COMMITS", "SampleInfo", "build_sample", "plan_text"]

MIN_COMMITS = 60  # below this the story's fixed events (renames, branches, tags) do not fit
DEFAULT_COMMITS = 300
DEFAULT_ROWS = 200

SHARED = [
    ".gitignore",
    "LICENSE",
    "README.rst",
    "requirements.txt",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "tools/",
    "acme/__init__.py",
    "acme/db/__init__.py",
    "acme/services/__init__.py",
    "acme/tests/__init__.py",
    "acme/tests/unit/__init__.py",
    "acme/tests/unit/services/__init__.py",
]


@dataclass(frozen=True)
class SampleInfo:
    """Where `build_sample` put things, and what the history holds."""

    root: Path
    repo: Path
    database: Path
    config_dir: Path
    plan: Path
    history: Summary
    table_rows: dict[str, int]

    @property
    def database_url(self) -> str:
        return sqlite_url(self.database)


def _toml_list(items: list[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f'{indent}"{item}",\n' for item in items) + "]"


def plan_text() -> str:
    """The plan that spins the three services off the sample (paths relative to the plan file)."""
    services = [
        ("acme-lb", "acme_lb", "lb", "etc/lb_agent.ini"),
        ("acme-fw", "acme_fw", "fw", "etc/fw_driver.ini"),
        ("acme-vpn", "acme_vpn", "vpn", "etc/vpn_agent.ini"),
    ]
    out = [
        "# Spin the load balancer, firewall and VPN services off the sample monorepo (see docs/plan.md).",
        "",
        "[source]",
        'repo = "acme"',
        'refs = ["refs/heads/main", "refs/heads/stable/*", "refs/tags/*"]',
        'main = "refs/heads/main"',
        "",
        "[core]",
        'name = "acme"',
        'package = "acme"',
        'history = "remove"',
        "",
        "[output]",
        'dir = "out"',
        "",
    ]
    for name, package, short, agent_ini in services:
        paths = [
            *SHARED,
            f"acme/services/{short}/",
            f"acme/db/{short}/",
            f"acme/tests/unit/services/{short}/",
            agent_ini,
        ]
        out += [
            "[[service]]",
            f'name = "{name}"',
            f'package = "{package}"',
            f"paths = {_toml_list(paths)}",
            f"shared = {_toml_list(SHARED)}",
            f'rename = {{ "acme/" = "{package}/" }}',
        ]
        if short == "lb":
            out += [
                "# Its code lived under quantum/plugins/services/agent_loadbalancer/, then quantum/services/lb/.",
                "follow_renames = true",
                'merge = ["refs/heads/feature/lb-v2"]',
            ]
        out.append(f"tables = {_toml_list(SERVICE_TABLES[short])}")
        rules = []
        provider = {"lb": "LOADBALANCER", "fw": "FIREWALL", "vpn": "VPN"}[short]
        rules.append(
            f'{{ from = "etc/acme.conf", section = "service_providers", key = "service_provider", '
            f'match = "{provider}:*", to = "etc/{package}.conf" }}'
        )
        if short == "lb":
            for section in ("radware", "netscaler_driver", "heleoslb", "haproxy"):
                rules.append(f'{{ from = "etc/services.conf", section = "{section}", to = "etc/services_lb.conf" }}')
        out.append("config = [\n" + "".join(f"    {r},\n" for r in rules) + "]")
        out.append("")
    out += [
        "[boundary]",
        "# The L3 agent mixes in the firewall's agent callbacks: the one import of a service the core keeps.",
        'allow = ["acme.agent.l3_agent -> acme.services.fw.agents.l3reference.firewall_l3_agent"]',
        "",
        "[database]",
        'mode = "separate"',
        'metadata = "acme.db.head:metadata"',
        "",
    ]
    return "\n".join(out)


def _write_config_dir(config_dir: Path, database: Path) -> None:
    config_dir.mkdir()
    (config_dir / "acme.conf").write_text(acme_conf(FINAL_ERA, database_url=sqlite_url(database)))
    (config_dir / "services.conf").write_text(services_conf(FINAL_ERA))
    for name in ("lb_agent.ini", "fw_driver.ini", "vpn_agent.ini"):
        (config_dir / name).write_bytes(render(f"etc/{name}", FINAL_ERA, 0))


def build_sample(
    dest: Path,
    *,
    commits: int = DEFAULT_COMMITS,
    rows: int = DEFAULT_ROWS,
    progress: Progress | None = None,
) -> SampleInfo:
    """Write the sample (repository, database, config dir, plan) into `dest`, which must be empty or absent.

    `commits` is the history's approximate size (at least MIN_COMMITS); `rows` the number of ports, from which
    the other tables are sized.
    """
    progress = progress or NullProgress()
    if commits < MIN_COMMITS:
        raise ValueError(f"commits must be at least {MIN_COMMITS}, got {commits}")
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        what = "is not a directory" if not dest.is_dir() else "is not empty"
        raise UnsafeSourceError(
            f"{dest} {what}; the sample is written into a new or empty directory only",
            hint="give a new or empty directory, or none to use a new temporary directory",
        )
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    repo = root / "acme"
    summary = build_history(repo, commits, progress)

    database = root / "acme.db"
    progress.start(
        "sample-db", f"filling {database.name}", total=len(CORE_TABLES) + sum(map(len, SERVICE_TABLES.values()))
    )
    done: list[str] = []

    def on_table(name: str, count: int) -> None:
        done.append(name)
        progress.advance("sample-db", len(done), counters={"rows": count})

    counts = build_database(database, rows, on_table)
    progress.finish("sample-db", f"{sum(counts.values())} rows in {len(counts)} tables in {database}")

    config_dir = root / "config"
    _write_config_dir(config_dir, database)
    plan = root / "plan.toml"
    plan.write_text(plan_text())
    progress.note(f"sample plan: {plan}")
    return SampleInfo(
        root=root,
        repo=repo,
        database=database,
        config_dir=config_dir,
        plan=plan,
        history=summary,
        table_rows=counts,
    )
