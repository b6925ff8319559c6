"""`plan check` reports every problem, always (issue 12 §4): a `break` in plan/validate.py once reported 1 of 42
overlaps on Django's localflavor layout. The static checks are also indexed (a lookup per directory level, not a
scan of every path), so they are compared here with the plain quadratic definitions on generated plans."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from spinout.errors import Problem
from spinout.plan.load import parse_plan_lenient
from spinout.plan.model import Plan, path_covers, paths_overlap

HEAD = '[source]\nrepo = "src"\n\n[core]\nname = "core"\npackage = "core"\n\n'


def _service(name: str, paths: list[str], rename: dict[str, str], shared: list[str] = ()) -> str:  # type: ignore[assignment]
    quoted = ", ".join(f'"{p}"' for p in paths)
    ren = ", ".join(f'"{a}" = "{b}"' for a, b in rename.items())
    share = ", ".join(f'"{p}"' for p in shared)
    return (
        f'[[service]]\nname = "{name}"\npackage = "{name}"\npaths = [{quoted}]\nshared = [{share}]\n'
        f"rename = {{ {ren} }}\n\n"
    )


def _static(text: str) -> list[Problem]:
    _, problems = parse_plan_lenient(text, base_dir=Path("/nonexistent"))
    return problems


def test_the_localflavor_layout_reports_all_41_overlaps() -> None:
    codes = [f"c{i:02d}" for i in range(41)]
    paths = ["django/contrib/localflavor/", *(f"tests/regressiontests/localflavor/{c}/tests.py" for c in codes)]
    rename = {"django/contrib/localflavor/": "localflavor/"}
    rename.update({f"tests/regressiontests/localflavor/{c}/tests.py": f"localflavor/{c}/tests.py" for c in codes})
    problems = _static(HEAD + _service("flavor", paths, rename))
    assert len(problems) == 41
    assert problems[40] == Problem(
        "service[0].rename",
        "'django/contrib/localflavor/' and 'tests/regressiontests/localflavor/c40/tests.py' would overlap after "
        "renaming ('localflavor/', 'localflavor/c40/tests.py')",
    )


def test_a_path_covered_twice_is_reported_twice() -> None:
    problems = _static(HEAD + _service("lb", ["a/", "a/b/", "a/b/c.py"], {}))
    assert [p.message for p in problems] == [
        "'a/b/' is already covered by paths[0] 'a/'",
        "'a/b/c.py' is already covered by paths[0] 'a/'",
        "'a/b/c.py' is already covered by paths[1] 'a/b/'",
    ]


def test_thousands_of_paths_check_in_linear_time() -> None:
    """10,000 paths in two services: the quadratic checks took minutes; the indexed ones take a second or so."""

    def svc(name: str) -> str:
        paths = [f"acme/{name}/"] + [f"acme/{name}/m{i}/x.py" for i in range(5000)]
        return _service(name, paths, {f"acme/{name}/m{i}/": f"{name}/m{i}/" for i in range(5000)})

    start = time.monotonic()
    problems = _static(HEAD + svc("aa") + svc("bb"))
    assert len(problems) == 10_000  # each file covered by its service's directory
    assert time.monotonic() - start < 30


# --- the reference: the checks as plainly defined, every pair compared --------------------------------------------


def reference(plan: Plan) -> list[Problem]:
    out: list[Problem] = []
    for i, svc in enumerate(plan.service):
        loc = f"service[{i}]"
        for j, path in enumerate(svc.paths):
            for k, other in enumerate(svc.paths):
                if k != j and other != path and other.endswith("/") and path_covers(other, path):
                    out.append(Problem(f"{loc}.paths[{j}]", f"{path!r} is already covered by paths[{k}] {other!r}"))
        for old in svc.rename:
            if not any(path_covers(old, p) or path_covers(p, old) for p in svc.paths):
                out.append(Problem(f"{loc}.rename", f"rename source {old!r} covers none of this service's paths"))
        for j, path in enumerate(svc.paths):
            dest = svc.renamed(path)
            for k, other in enumerate(svc.paths):
                odest = svc.renamed(other)
                if k > j and dest != odest and not paths_overlap(path, other) and paths_overlap(dest, odest):
                    out.append(
                        Problem(
                            f"{loc}.rename",
                            f"{path!r} and {other!r} would overlap after renaming ({dest!r}, {odest!r})",
                        )
                    )
    for i, a in enumerate(plan.service):
        for j in range(i + 1, len(plan.service)):
            b = plan.service[j]
            for pa in a.paths:
                for pj, pb in enumerate(b.paths):
                    if paths_overlap(pa, pb) and not (pa in a.shared and pb in b.shared):
                        out.append(
                            Problem(
                                f"service[{j}].paths[{pj}]",
                                f"{pb!r} overlaps {pa!r} of service[{i}] ({a.name}); list it in 'shared' of both "
                                "services if both should get it",
                            )
                        )
    return out


def renamed_reference(rename: dict[str, str], path: str) -> str:
    best = ""
    for old in rename:
        if path_covers(old, path) and len(old) > len(best):
            best = old
    return rename[best] + path[len(best) :] if best else path


_PARTS = st.sampled_from(["a", "b", "ab", "c.py", "b.py"])
_PATH = st.builds(
    lambda parts, is_dir: "/".join(parts) + ("/" if is_dir else ""),
    st.lists(_PARTS, min_size=1, max_size=3),
    st.booleans(),
)
_DIR = st.builds(lambda parts: "/".join(parts) + "/", st.lists(_PARTS, min_size=1, max_size=2))


@st.composite
def services(draw: st.DrawFn) -> list[tuple[list[str], dict[str, str], list[str]]]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        paths = draw(st.lists(_PATH, min_size=1, max_size=6))
        sources = draw(st.lists(st.sampled_from(paths) | _DIR, max_size=3, unique=True))
        rename = {s: draw(_DIR if s.endswith("/") else _PATH.filter(lambda p: not p.endswith("/"))) for s in sources}
        shared = draw(st.lists(st.sampled_from(paths), max_size=2, unique=True))
        out.append((paths, rename, shared))
    return out


@settings(max_examples=300, deadline=None)
@given(services())
def test_indexed_checks_equal_the_plain_definitions(spec: list[tuple[list[str], dict[str, str], list[str]]]) -> None:
    text = HEAD + "".join(_service(f"s{i}", p, r, sh) for i, (p, r, sh) in enumerate(spec))
    plan, problems = parse_plan_lenient(text, base_dir=Path("/nonexistent"))
    for svc in plan.service:
        for path in svc.paths:
            assert svc.renamed(path) == renamed_reference(svc.rename, path)
    kinds = ("already covered", "covers none", "would overlap after renaming", "overlaps '")
    ours = [p for p in problems if any(k in p.message for k in kinds)]
    assert ours == reference(plan)  # the same problems, in the same order


def test_thousands_of_earlier_names_check_in_linear_time() -> None:
    olds = [f"old/m{i}.py" for i in range(60_000)]
    adds = ", ".join(f'"acme/m{i}.py" = ["older/m{i}.py", "older/m{i}.py"]' for i in range(5_000))
    text = HEAD + _service("lb", ["acme/"], {}).replace(
        "rename = {  }",
        f"rename = {{  }}\nfollow_renames = true\nearlier_names_veto = {olds + olds[:1]!r}\n"
        f"earlier_names_add = {{ {adds} }}",
    ).replace("'", '"')
    start = time.monotonic()
    problems = _static(text)
    assert len(problems) == 1 + 5_000  # the veto listed twice, each added name listed twice
    assert problems[0].message == "'old/m0.py' is listed twice"
    assert time.monotonic() - start < 30
