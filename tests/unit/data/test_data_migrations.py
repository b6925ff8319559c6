"""Migration generation pieces: portable types, the core chain's head, shared-mode base revisions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from spinout.data.migrations import core_head, format_python, portable, service_environment
from spinout.errors import PlanError, ToolError

REV = """
revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
"""


def test_reflected_dialect_types_become_portable() -> None:
    md = sa.MetaData()
    sa.Table(
        "t",
        md,
        sa.Column("id", postgresql.INTEGER(), primary_key=True, server_default=sa.text("nextval('t_id_seq')")),
        sa.Column("kind", postgresql.ENUM("a", "b", name="kinds")),
        sa.Column("flag", mysql.TINYINT(display_width=1)),
        sa.Column("name", mysql.VARCHAR(36, collation="utf8mb4_general_ci")),
        sa.Column("n", mysql.INTEGER(display_width=11), server_default=sa.text("'3'")),
    )
    t = portable(md).tables["t"]
    assert type(t.c.kind.type) is sa.Enum and t.c.kind.type.name == "kinds" and t.c.kind.type.enums == ["a", "b"]
    assert type(t.c.flag.type) is sa.Boolean
    assert type(t.c.name.type) is sa.String and t.c.name.type.collation is None and t.c.name.type.length == 36
    assert type(t.c.n.type) is sa.Integer
    assert t.c.id.server_default is None  # the source's sequence does not exist in the service database
    assert t.c.n.server_default is not None
    # the input is untouched
    assert isinstance(md.tables["t"].c.kind.type, postgresql.ENUM)


def _chain(tmp_path: Path, revisions: dict[str, str | None]) -> Path:
    chain = tmp_path / "chain"
    (chain / "versions").mkdir(parents=True)
    (chain / "env.py").write_text("")
    for rev, down in revisions.items():
        (chain / "versions" / f"{rev}.py").write_text(REV.format(rev=rev, down=down))
    return chain


def test_core_head_is_the_single_head(tmp_path: Path) -> None:
    head, locations = core_head(_chain(tmp_path, {"aaa": None, "bbb": "aaa"}))
    assert head == "bbb"
    assert locations == [tmp_path / "chain" / "versions"]


def test_core_head_refuses_several_heads_and_non_alembic_dirs(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"has 2 heads \(b1, b2\)|has 2 heads \(b2, b1\)"):
        core_head(_chain(tmp_path, {"a0": None, "b1": "a0", "b2": "a0"}))
    with pytest.raises(PlanError, match="not an alembic script directory"):
        core_head(tmp_path)


def test_shared_mode_base_revision_is_empty_with_own_version_table(tmp_path: Path) -> None:
    written = service_environment(tmp_path, "acme-lb", None, ["pools"])
    assert written.version_table == "alembic_version_acme_lb"
    assert "VERSION_TABLE = 'alembic_version_acme_lb'" in (tmp_path / "acme-lb" / "env.py").read_text()
    (rev_file,) = (tmp_path / "acme-lb" / "versions").glob("*.py")
    spec = importlib.util.spec_from_file_location("rev", rev_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.revision == written.revision and module.down_revision is None
    assert module.branch_labels == ("acme_lb",)
    assert "op.create_table" not in rev_file.read_text()


def test_formatting_no_generated_file_leaves_the_current_directory_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    untidy = "x  =  [1,\n 2]\nimport os\n"
    (tmp_path / "users_code.py").write_text(untidy)
    monkeypatch.chdir(tmp_path)
    assert format_python([tmp_path / "notes.txt"])
    assert (tmp_path / "users_code.py").read_text() == untidy


def test_shared_enums_use_the_existing_postgresql_type() -> None:
    """The strip revision's downgrade must not create again an enum type that a core table kept: the rendered
    generic Enum gets a PostgreSQL variant without type creation, the reflected PostgreSQL ENUM loses its
    creation; other enums and strings that merely look like calls are left alone."""
    from spinout.data.migrations import _existing_enums

    code = (
        "sa.Column('a', sa.Enum('X', 'Y)', name='shared'), nullable=True),\n"
        'sa.Column(\'b\', postgresql.ENUM("UP", "DOWN", name="shared"), nullable=False),\n'
        "sa.Column('c', sa.Enum('P', name='own')),\n"
        "sa.Column('d', sa.String(), server_default=\"sa.Enum(name='shared')\"),\n"
    )
    assert _existing_enums(code, ["shared"]) == (
        "sa.Column('a', sa.Enum('X', 'Y)', name='shared')"
        ".with_variant(postgresql.ENUM(name='shared', create_type=False), 'postgresql'), nullable=True),\n"
        'sa.Column(\'b\', postgresql.ENUM("UP", "DOWN", name="shared", create_type=False), nullable=False),\n'
        "sa.Column('c', sa.Enum('P', name='own')),\n"
        "sa.Column('d', sa.String(), server_default=\"sa.Enum(name='shared')\"),\n"
    )
    assert _existing_enums(code, []) == code
