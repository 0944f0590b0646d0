#!/usr/bin/env bash
# The benchmark from a fresh clone: set up .venv (scripts/setup), add the bench extra, run.
#   ./bench/run.sh            full run (~7 minutes): bench/results/latest.json and bench/LATEST.md
#   ./bench/run.sh --quick    smoke run (1-2 minutes): bench/results/quick.json
# PostgreSQL: MARSHRUT_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test
# (the bench works in schemas of its own and drops them); its parts are skipped if unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup run
stamp=.venv/.installed-bench-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -e ".[bench]"
  touch "$stamp"
fi
exec .venv/bin/python -m bench.run "$@"
