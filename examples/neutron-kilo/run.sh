#!/usr/bin/env bash
# Run spinout's stages on openstack/neutron as OpenStack's Kilo services split (December 2014) should have gone.
#
# Usage: run.sh NEUTRON_CLONE OUT
#
#   NEUTRON_CLONE  a clone of openstack/neutron (bare or not) holding the split base 08d436720ba7; never written to
#   OUT            a new or empty directory; everything goes there:
#                    OUT/neutron       scratch bare clone (objects shared with NEUTRON_CLONE), branch split-base
#                    OUT/plan.toml     copy of plan.toml beside it (the plan's paths are relative to itself)
#                    OUT/split/        the targets: neutron-lbaas, neutron-fwaas, neutron-vpnaas, neutron (core)
#                    OUT/conf/etc/     neutron's etc/ at the split base, split by `spinout conf split`
#                    OUT/neutron.db    SQLite database built from the table facts (schema.py), for `spinout db`
#                    OUT/migrations/   the services' alembic environments (`spinout db migrations`)
#                    OUT/logs/         each step's --json result (STEP.json) and messages (STEP.err)
#                    OUT/summary.txt   one line per step: ran (exit code) or skipped (and why)
#
# Each stage runs only if its command exists in this build of spinout (`spinout CMD --help`); the summary says
# which were skipped. Findings (exit 1, e.g. boundary violations) do not stop the run; errors (exit >= 2) do.
# SPINOUT may name the spinout executable (default: `spinout` on PATH).
set -euo pipefail

SPLIT_BASE=08d436720ba75b752ab37d4b84a7e2cb856186f8
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPINOUT="${SPINOUT:-spinout}"

if [[ $# -ne 2 ]]; then
    echo "usage: $0 NEUTRON_CLONE OUT" >&2
    exit 2
fi
CLONE="$1"
OUT="$2"

if ! git -C "$CLONE" cat-file -e "${SPLIT_BASE}^{commit}" 2>/dev/null; then
    echo "error: $CLONE has no commit $SPLIT_BASE (the split base); fetch openstack/neutron's master into it" >&2
    exit 2
fi
if [[ -e "$OUT" ]] && [[ -n "$(ls -A "$OUT")" ]]; then
    echo "error: $OUT is not empty; give a new or empty directory" >&2
    exit 2
fi
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

# The plan's source: a scratch clone sharing the objects (alternates; nothing is written into CLONE), with the
# split base as a branch, because a plan builds on a ref.
git clone --quiet --bare --shared "$CLONE" "$OUT/neutron"
git -C "$OUT/neutron" branch --force split-base "$SPLIT_BASE"
cp "$HERE/plan.toml" "$OUT/plan.toml"
PLAN="$OUT/plan.toml"

has_command() {
    # `spinout CMD... --help` exits 0 only when the command exists in this build.
    "$SPINOUT" "$@" --help >/dev/null 2>&1
}

# step NAME CMD...: run a spinout command with --json, keep its result and messages, record the outcome.
step() {
    local name="$1"
    shift
    local rc=0
    echo "== $name: spinout $*" >&2
    "$SPINOUT" "$@" --json >"$OUT/logs/$name.json" 2>"$OUT/logs/$name.err" || rc=$?
    if [[ $rc -ge 2 ]]; then
        echo "$name: failed (exit $rc)" >>"$SUMMARY"
        tail -n 20 "$OUT/logs/$name.err" >&2
        echo "error: step $name failed (exit $rc); see $OUT/logs/$name.err" >&2
        exit "$rc"
    fi
    echo "$name: ran (exit $rc)" >>"$SUMMARY"
}

skip() {
    echo "$1: skipped ($2)" >>"$SUMMARY"
    echo "== $1: skipped ($2)" >&2
}

step plan-check plan check "$PLAN"

# Before the split: what the core imports from the services (everything but the allowed L3 agent import).
if has_command guard check; then
    step guard-check-before guard check "$PLAN"
else
    skip guard-check-before "no 'spinout guard check' in this build"
fi

if has_command coupling; then
    step coupling coupling "$PLAN"
else
    skip coupling "no 'spinout coupling' in this build"
fi

split_done=no
if has_command split; then
    step split split "$PLAN"
    split_done=yes
else
    skip split "no 'spinout split' in this build (history stage not merged)"
fi

if ! has_command rewrite; then
    skip rewrite "no 'spinout rewrite' in this build (code stage not merged)"
elif [[ $split_done != yes ]]; then
    skip rewrite "needs the split targets"
else
    step rewrite rewrite "$PLAN"
fi

# After the split: the core target (spinout guard check picks it when it exists).
if ! has_command guard check; then
    skip guard-check-after "no 'spinout guard check' in this build"
elif [[ $split_done != yes ]]; then
    skip guard-check-after "needs the split targets"
else
    step guard-check-after guard check "$PLAN"
fi

# Neutron's etc/ at the split base, as a maintainer's checkout has it (the repository layout).
mkdir -p "$OUT/conf"
git -C "$OUT/neutron" archive --format=tar split-base etc | tar -x -C "$OUT/conf"
if has_command conf split; then
    step conf-split conf split "$PLAN" --config-dir "$OUT/conf"
else
    skip conf-split "no 'spinout conf split' in this build"
fi

# The data stage on a SQLite database built from the table facts (2014 neutron cannot be installed here).
if has_command db plan; then
    "${PYTHON:-python3}" "$HERE/schema.py" "$OUT/neutron.db"
    step db-plan db plan "$PLAN" --db-url "sqlite:///$OUT/neutron.db"
    step db-migrations db migrations "$PLAN" --db-url "sqlite:///$OUT/neutron.db" --out "$OUT/migrations"
else
    skip db-plan "no 'spinout db plan' in this build (data stage not merged)"
fi

{
    echo
    echo "targets:"
    if [[ -d "$OUT/split" ]]; then
        for target in "$OUT/split"/*; do
            [[ -d "$target" ]] || continue
            commits="$(git -C "$target" rev-list --count HEAD 2>/dev/null || echo '?')"
            files="$(git -C "$target" ls-tree -r --name-only HEAD 2>/dev/null | wc -l)"
            echo "  $(basename "$target"): $commits commits, $files files at HEAD"
        done
    else
        echo "  none (no split in this build)"
    fi
    echo "config files after conf split:"
    for f in "$OUT/conf/etc"/neutron*.conf "$OUT/conf/etc"/services*.conf; do
        [[ -e "$f" ]] && echo "  etc/$(basename "$f"): $(grep -c '' "$f") lines"
    done
} >>"$SUMMARY"

cat "$SUMMARY"
