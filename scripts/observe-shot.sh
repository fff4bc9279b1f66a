#!/usr/bin/env bash
# Runs the demo with -observe and, 1.5 s into its outage phase, saves a
# screenshot of the operator page (docs/demo/ops.png, headless Chromium) and
# an excerpt of /metrics (docs/demo/metrics.txt), for the README.
# Usage: scripts/observe-shot.sh   (make demo-shots)
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "observe-shot: needs Debian's chromium (apt-get install chromium)" >&2
	exit 1
fi
(cd cmd/tempest-demo && go build -o ../../.bin/tempest-demo .)
port=${PORT:-19464}
out=$(mktemp)
profile=$(mktemp -d)
trap 'rm -rf "$out" "$profile"' EXIT
./.bin/tempest-demo -duration 14s -observe "127.0.0.1:$port" >"$out" 2>&1 &
demo=$!
# Wait for the outage phase to begin, then for the circuit to have opened.
until grep -q "outage begins" "$out"; do
	kill -0 "$demo" 2>/dev/null || { cat "$out"; exit 1; }
	sleep 0.1
done
sleep 1.5
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
	--window-size=1200,560 --screenshot=docs/demo/ops.png "http://127.0.0.1:$port/ops/" 2>/dev/null
{
	echo "# GET /metrics during the outage (tempest-demo -observe), an excerpt"
	curl -s "http://127.0.0.1:$port/metrics" | grep -E '^(# TYPE )?(tempest_client_(calls_total|attempts_total|retries_total|fast_fails_total|give_ups_total|breaker_state|breaker_until_half_open_seconds|breaker_transitions_total)|http_client_request_duration_seconds_count)' | grep -v '_bucket'
} >docs/demo/metrics.txt
wait "$demo"
echo "wrote docs/demo/ops.png and docs/demo/metrics.txt"
