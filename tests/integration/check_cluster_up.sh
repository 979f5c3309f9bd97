#!/usr/bin/env bash
# `graphprobe cluster up` starts a cluster of separate processes and prints the coordinator's
# address last; an ablation submitted there runs to the end (watch exits 0 and links the
# report), its results download and its HTML report is served over HTTP; a second `up` in the same folder is refused; `cluster down` stops every process.
# Then the same cluster behind mutual TLS and a bearer token (`up --tls-cert --tls-key --tls-ca
# --auth-token-file`): an ablation runs through it for a client with certificate and token, and
# a client without the token is refused.
#   check_cluster_up.sh GRAPHPROBE_BINARY SCRATCH_DIR
set -euo pipefail
graphprobe=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { "$graphprobe" cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$graphprobe" cluster up --dir "$dir/cluster" --extractors 2 >"$dir/up.log"
coordinator=$(tail -n 1 "$dir/up.log")
[[ "$coordinator" =~ ^127\.0\.0\.1:[0-9]+$ ]] || { echo "no coordinator address: $coordinator"; cat "$dir/up.log"; exit 1; }
pids=$(grep -o '"pid": [0-9]*' "$dir/cluster/cluster.json" | grep -o '[0-9]*$' | tr '\n' ' ')
[ "$(echo $pids | wc -w)" -eq 5 ] || { echo "expected 5 processes: $pids"; exit 1; }

if "$graphprobe" cluster up --dir "$dir/cluster" >"$dir/up2.log" 2>&1; then
  echo "a second cluster up in the same folder was not refused"; exit 1
fi
grep -q "already up" "$dir/up2.log" || { cat "$dir/up2.log"; exit 1; }

cat >"$dir/spec.json" <<'SPEC'
{"name": "cluster-up", "models": [{"name": "graph-toy", "path": "graph-toy"}],
 "graph_sizes": [5], "probes": ["logreg-head"], "seeds": [1], "dataset_sizes": [40]}
SPEC
# Extractors frozen, the ablation cannot finish: the coordinator serves its report as 409.
extractor_pids=$(python3 -c 'import json,sys; print(" ".join(str(p["pid"]) for p in json.load(open(sys.argv[1]))["processes"] if p["name"].startswith("extractor")))' "$dir/cluster/cluster.json")
kill -STOP $extractor_pids
id=$("$graphprobe" submit --coordinator "$coordinator" "$dir/spec.json" | tail -n 1)
reports=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reports"])' "$dir/cluster/cluster.json")
[[ "$reports" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || { kill -CONT $extractor_pids; echo "no reports URL: $reports"; exit 1; }
code=$(curl -s -o "$dir/running.txt" -w '%{http_code}' "$reports/ablations/$id/report")
kill -CONT $extractor_pids
[ "$code" = 409 ] && grep -q "is still running (0 of 3 cells)" "$dir/running.txt" || { echo "report of a running ablation: HTTP $code"; cat "$dir/running.txt"; exit 1; }
"$graphprobe" watch --coordinator "$coordinator" "$id" >"$dir/watch.log" || { cat "$dir/watch.log"; exit 1; }
grep -q "succeeded" "$dir/watch.log" || { cat "$dir/watch.log"; exit 1; }
"$graphprobe" results --coordinator "$coordinator" "$id" --out "$dir/results" >/dev/null
[ "$(($(wc -l <"$dir/results/results.csv") - 1))" -eq 3 ] || { echo "expected 3 cells"; cat "$dir/results/results.csv"; exit 1; }

# Its report, linked from watch's last line, served while the cluster runs: the HTML of
# `graphprobe report` on the downloaded results (one renderer; check_report.sh opens it in
# Chromium), the index links it, an unknown ablation is 404, a POST 405.
url=$(tail -n 1 "$dir/watch.log")
[ "$url" = "report: $reports/ablations/$id/report" ] || { echo "watch's last line: $url"; exit 1; }
code=$(curl -s -o "$dir/served.html" -w '%{http_code} %{content_type}' "${url#report: }")
[ "$code" = "200 text/html; charset=utf-8" ] || { echo "report: HTTP $code"; head -c 500 "$dir/served.html"; exit 1; }
"$graphprobe" report "$dir/results" --out "$dir/local.html" >/dev/null
cmp -s "$dir/served.html" "$dir/local.html" || { echo "the served report differs from graphprobe report's"; exit 1; }
grep -q '<section id="cell">' "$dir/served.html" || { echo "served report without its sections"; exit 1; }
curl -s "$reports/" | grep -q "href=\"/ablations/$id/report\"" || { echo "the index does not link the report"; exit 1; }
code=$(curl -s -o "$dir/missing.txt" -w '%{http_code}' "$reports/ablations/no-such-id/report")
[ "$code" = 404 ] && grep -q "no-such-id" "$dir/missing.txt" || { echo "unknown ablation: HTTP $code"; cat "$dir/missing.txt"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${url#report: }")
[ "$code" = 405 ] || { echo "POST: HTTP $code"; exit 1; }

"$graphprobe" cluster down --dir "$dir/cluster" >/dev/null
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then echo "process $pid still running after cluster down"; exit 1; fi
done
[ ! -e "$dir/cluster/cluster.json" ] || { echo "cluster.json left behind"; exit 1; }
if "$graphprobe" cluster down --dir "$dir/cluster" 2>/dev/null; then
  echo "cluster down without a cluster succeeded"; exit 1
fi
# Behind mutual TLS and a token: one certificate (for 127.0.0.1, from a test CA) serves every
# process as server and as client.
(
  cd "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj "/CN=node" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >node.ext
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem -days 2 \
    -extfile node.ext 2>/dev/null
  echo "cluster-up-test-token" >token
)
secure=(--tls-cert "$dir/node.pem" --tls-key "$dir/node.key" --tls-ca "$dir/ca.pem")
"$graphprobe" cluster up --dir "$dir/cluster" --extractors 1 "${secure[@]}" \
  --auth-token-file "$dir/token" >"$dir/up-tls.log" || { cat "$dir/up-tls.log"; exit 1; }
coordinator=$(tail -n 1 "$dir/up-tls.log")
id=$("$graphprobe" submit --coordinator "$coordinator" "${secure[@]}" --auth-token-file "$dir/token" \
  "$dir/spec.json" | tail -n 1)
"$graphprobe" watch --coordinator "$coordinator" "${secure[@]}" --auth-token-file "$dir/token" "$id" \
  >"$dir/watch-tls.log" || { cat "$dir/watch-tls.log"; exit 1; }
grep -q "succeeded" "$dir/watch-tls.log" || { cat "$dir/watch-tls.log"; exit 1; }
if "$graphprobe" list --coordinator "$coordinator" "${secure[@]}" >"$dir/list-tls.log" 2>&1; then
  echo "a client without the token was let in"; exit 1
fi
grep -q "requires a bearer token" "$dir/list-tls.log" || { cat "$dir/list-tls.log"; exit 1; }
if grep -rq "cluster-up-test-token" "$dir/cluster/logs"; then
  echo "the token was logged"; exit 1
fi
"$graphprobe" cluster down --dir "$dir/cluster" >/dev/null
echo "cluster up/down OK"
