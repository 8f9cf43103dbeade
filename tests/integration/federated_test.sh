#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end on loopback: `disco serve`, its HTTP API (including the error paths), and three
# `disco train --server` clients on disjoint Fashion-MNIST shards. The federated model must
# reach the accuracy of centralised training on the union of the shards within 2 points.
# Usage: federated_test.sh <path to disco>
set -euo pipefail
disco=$1
source "$(dirname "$0")/lib.sh"
[ -d /usr/share/datasets/fashion-mnist ] || { echo "SKIP: no fashion-mnist"; exit 0; }

# The data: 3 disjoint shards of 4000 images, their union, 2000 test images.
"$here/make_shards.py" "$dir/data" 3 4000 2000 7

# A federated copy of the built-in Fashion-MNIST task: 3 participants, 5 rounds of 3 local epochs.
# Each client then takes as many optimizer steps (15 epochs of 4000 images) as the centralised
# run (5 epochs of 12000), in the same wall time since the clients train in parallel.
mkdir "$dir/tasks"
federated_task "$here/../../tasks/fashion-mnist.json" "$dir/tasks/fm3.json" fm3 3 \
  '{"epochs": 15, "round_duration": 3, "validation_split": 0, "batch_size": 32}'

# A stand-in web app for the static file checks.
mkdir -p "$dir/web/assets"
echo '<!doctype html><title>disco</title>' >"$dir/web/index.html"
echo 'console.log(1)' >"$dir/web/assets/app.js"

# The server, on a free port.
start_server "$dir/server.log" "$dir/state" --web-dir "$dir/web"

# The HTTP API, including its error paths.
python3 - "$url" "$here/../../tasks/penguins.json" <<'PY'
import json, sys, urllib.request, urllib.error
url, penguins = sys.argv[1], sys.argv[2]
def call(method, path, body=None, headers={}):
    req = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
def check(cond, what):
    if not cond:
        print("FAIL:", what); sys.exit(1)
s, b, h = call("GET", "/api/health")
check(s == 200 and json.loads(b)["status"] == "ok", "health")
check(h["Cross-Origin-Opener-Policy"] == "same-origin", "COOP header")
check(h["Cross-Origin-Embedder-Policy"] == "require-corp", "COEP header")
s, b, _ = call("GET", "/api/tasks")
check(s == 200 and [t["id"] for t in json.loads(b)] == ["fm3"], "task list: %r" % b)
s, b, _ = call("GET", "/api/tasks/fm3")
check(s == 200 and json.loads(b)["federation"]["min_participants"] == 3, "get task")
s, b, _ = call("GET", "/api/tasks/nope")
check(s == 404 and "nope" in json.loads(b)["error"], "unknown task: %d %r" % (s, b))
bad = json.load(open(penguins)); bad["id"] = "bad"; bad["federation"]["min_participants"] = 0
s, b, _ = call("POST", "/api/tasks", json.dumps(bad).encode())
check(s == 400 and "federation.min_participants" in json.loads(b)["error"], "bad task: %d %r" % (s, b))
check(json.loads(b).get("field") == "federation.min_participants", "bad task field: %r" % b)
bad = json.load(open(penguins)); bad["id"] = "bad"; bad["model"]["layers"][0]["units"] = -1
s, b, _ = call("POST", "/api/tasks", json.dumps(bad).encode())
check(s == 400 and json.loads(b).get("field") == "model.layers[0].units", "bad layer: %d %r" % (s, b))
s, b, _ = call("POST", "/api/tasks", b"{not json")
check(s == 400 and "field" not in json.loads(b), "malformed JSON: %d %r" % (s, b))
good = json.load(open(penguins)); good["id"] = "penguins-fed"
good["federation"] = {"scheme": "federated", "min_participants": 2}
s, b, _ = call("POST", "/api/tasks", json.dumps(good).encode())
check(s == 201 and json.loads(b)["id"] == "penguins-fed", "create task: %d %r" % (s, b))
s, b, _ = call("POST", "/api/tasks", json.dumps(good).encode())
check(s == 409, "duplicate task: %d" % s)
s, b, _ = call("GET", "/api/tasks/penguins-fed/model")
check(s == 200 and len(b) > 100 and b"penguins-fed" in b[:4096], "model download")
s, b, _ = call("GET", "/api/tasks/fm3/status")
st = json.loads(b)
check(s == 200 and st["phase"] == "Waiting" and st["rounds_completed"] == 0, "status: %r" % st)
s, b, _ = call("DELETE", "/api/tasks/fm3")
check(s == 405, "DELETE: %d" % s)
# Static files of the web app, with the isolation headers; client-side routes get index.html.
s, b, h = call("GET", "/")
check(s == 200 and b.startswith(b"<!doctype html>") and h["Content-Type"].startswith("text/html"), "index")
check(h["Cross-Origin-Embedder-Policy"] == "require-corp", "COEP on static files")
s, b, h = call("GET", "/assets/app.js")
check(s == 200 and h["Content-Type"].startswith("text/javascript"), "app.js: %d %r" % (s, h["Content-Type"]))
s, b, _ = call("GET", "/tasks/fm3")
check(s == 200 and b.startswith(b"<!doctype html>"), "client-side route")
s, b, _ = call("GET", "/assets/missing.js")
check(s == 404, "missing asset: %d" % s)
s, b, _ = call("GET", "/../../etc/passwd")
check(s in (400, 404) and b"root:" not in b, "path traversal: %d" % s)
# A task that requires a join token.
tok = json.load(open(penguins)); tok["id"] = "penguins-tok"
tok["federation"] = {"scheme": "federated", "min_participants": 1}
s, b, _ = call("POST", "/api/tasks", json.dumps(tok).encode(), {"X-Join-Token": "s3cret"})
check(s == 201, "create token task: %d %r" % (s, b))
s, b, _ = call("GET", "/api/tasks/penguins-tok")
check(s == 200 and b"s3cret" not in b, "the token must not be served")
PY

# Without the token a client is refused with a clear error; with it, it trains.
if "$disco" train --server "$url" --task penguins-tok --data "$here/../../tasks/data/penguins.csv" --no-progress -o "$dir/tok.safetensors" >"$dir/tok-bad.log" 2>&1; then
  fail "a client without the join token was accepted"
fi
grep -q "Unauthorized" "$dir/tok-bad.log" || fail "no Unauthorized error: $(tail -2 "$dir/tok-bad.log")"
"$disco" train --server "$url" --task penguins-tok --data "$here/../../tasks/data/penguins.csv" --join-token s3cret --no-progress \
  -o "$dir/tok.safetensors" >"$dir/tok-good.log" 2>&1 || fail "the client with the join token failed"
[ -s "$dir/tok.safetensors" ] || fail "no model from the token task"

# A malformed protocol message closes that connection only: the server keeps answering.
python3 - "$port" <<'PY'
import base64, os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws/fm3 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
resp = s.recv(4096)
assert resp.startswith(b"HTTP/1.1 101"), resp
payload = b"\xc1\xff garbage"
mask = os.urandom(4)
frame = bytes([0x82, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
s.sendall(frame)
s.settimeout(10)
# The server answers with an ErrorMessage (binary frame), then a close frame.
data, opcodes = b"", []
while 0x8 not in opcodes:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
    while len(data) >= 2:
        n, head = data[1] & 0x7F, 2
        if n == 126: n, head = int.from_bytes(data[2:4], "big"), 4
        elif n == 127: n, head = int.from_bytes(data[2:10], "big"), 10
        if len(data) < head + n: break
        opcodes.append(data[0] & 0x0F)
        data = data[head + n:]
assert opcodes[:2] == [0x2, 0x8], opcodes
PY
python3 -c "import urllib.request,sys; urllib.request.urlopen('$url/api/health')" || fail "server died after a malformed message"

# Three clients, one shard each.
pids=()
for k in 0 1 2; do
  "$disco" train --server "$url" --task fm3 --data "$dir/data/shard-$k" --no-progress \
    -o "$dir/fed-$k.safetensors" >"$dir/client-$k.log" 2>&1 &
  pids+=($!)
done
for k in 0 1 2; do wait "${pids[$k]}" || fail "client $k failed"; done
cmp -s "$dir/fed-0.safetensors" "$dir/fed-1.safetensors" || fail "clients 0 and 1 ended with different models"
cmp -s "$dir/fed-0.safetensors" "$dir/fed-2.safetensors" || fail "clients 0 and 2 ended with different models"

python3 - "$url" <<'PY'
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/api/tasks/fm3/status"))
assert st["phase"] == "Finished" and st["rounds_completed"] == 5, st
assert [r["round"] for r in st["rounds"]] == [1, 2, 3, 4, 5], st["rounds"]
assert all(r["contributions"] == 3 for r in st["rounds"]), st["rounds"]
assert len(st["participants"]) == 3, st["participants"]
PY

# Centralised training on the union (5 epochs), then both on the same test images.
"$disco" train --task "$dir/tasks/fm3.json" --data "$dir/data/all" --epochs 5 --no-progress \
  -o "$dir/central.safetensors" >"$dir/central.log" 2>&1
"$disco" evaluate --task "$dir/tasks/fm3.json" --model "$dir/fed-0.safetensors" --data "$dir/data/all" >"$dir/fed-eval.log"
"$disco" evaluate --task "$dir/tasks/fm3.json" --model "$dir/central.safetensors" --data "$dir/data/all" >"$dir/central-eval.log"
fed=$(sed -n 's/^accuracy *//p' "$dir/fed-eval.log")
central=$(sed -n 's/^accuracy *//p' "$dir/central-eval.log")
echo "federated accuracy $fed, centralised accuracy $central"
awk -v f="$fed" -v c="$central" 'BEGIN { exit !(f >= c - 0.02) }' ||
  fail "federated accuracy $fed is more than 2 points below centralised $central"
echo "PASS"
