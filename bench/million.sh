#!/usr/bin/env bash
# Issue 17, item 4: the targets at OPEN (default 1,000,000) open cases on PostgreSQL, against a
# small database of 100 for the "complete" target. Leaves JSON in bench/results/; drops both
# databases at the end (a million cases take ~44 GB), unless KEEP=1. Usage: bench/million.sh [OPEN] [FINISHED_PER_OPEN]
set -euo pipefail
cd "$(dirname "$0")/.."
OPEN=${1:-1000000}
FINISHED=${2:-2}
PG=${PG:-postgresql://postgres@127.0.0.1:5432}
PSQL_ARGS=${PSQL_ARGS:--h 127.0.0.1 -U postgres}
out=bench/results
mkdir -p "$out"
for name in bench1m bench100; do dropdb $PSQL_ARGS --if-exists "$name"; createdb $PSQL_ARGS "$name"; done
if [ -z "${KEEP:-}" ]; then
  trap 'for name in bench1m bench100; do dropdb $PSQL_ARGS --if-exists "$name" || true; done' EXIT
fi
/usr/bin/time -v .venv/bin/python -m bench.generate --database-url "$PG/bench1m" --open-cases "$OPEN" \
  --finished-per-open "$FINISHED" > "$out/generate_1m.json" 2> "$out/generate_1m.log"
.venv/bin/python -m bench.generate --database-url "$PG/bench100" --open-cases 100 --finished-per-open "$FINISHED" \
  > "$out/generate_100.json" 2> "$out/generate_100.log"
psql $PSQL_ARGS -d bench1m -tAc "SELECT pg_size_pretty(pg_database_size('bench1m'))" > "$out/size_1m.txt"
.venv/bin/python -m bench.at_scale --database-url "$PG/bench100" --count 100 --seconds 20 --out "$out/at_scale_100.json" \
  > /dev/null
.venv/bin/python -m bench.at_scale --database-url "$PG/bench1m" --count 50 --seconds 45 --worker-passes "${WORKER_PASSES:-1000}" \
  --out "$out/at_scale_1m.json" --compare "$out/at_scale_100.json" | tail -20 > "$out/at_scale_1m.md"
cat "$out/at_scale_1m.md"
