#!/bin/sh
# The whole loop of a model of your own, as a user runs it, on a scene this
# test writes (tools/train/scene: nine regions showing Trouser, Bag and
# Sneaker items in turn, a new one every 2 s): the agent (the GoCV build,
# which plays videos) collects a crop of each region every second until it
# has 180 crops (20 a region) and is stopped by SIGTERM; the crops are
# labelled by moving them to their true class's folder (scene label: the
# scene's ground truth); regions r0-r5 are the training data, r6-r8, showing items
# training never saw, the held-out test folder; make_model.sh trains 3
# epochs of the tiny arch at 32x32 on the CPU, converts, quantizes on the
# training pictures and evaluates. Then `coatnet convert` without flags must
# give the model the flags gave (config.json beside the checkpoint), and
# `coatnet eval` of the float and int8 models on the test folder must name
# the three classes with their picture counts, and both must get more than
# half of the test crops right (chance is a third; the runs measured scored
# 70-87%: 3 epochs of batch 8 on 96 crops are enough for these classes).
# make check-train runs it where PyTorch and OpenCV are installed.
#
#   tools/train/test_loop.sh GOCV_COATNET SCENE
set -eu
[ $# -eq 2 ] || { echo "usage: $0 GOCV_COATNET SCENE" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
coatnet=$(abs "$1") scene=$(abs "$2")
py=${PYTHON_TORCH:-/usr/bin/python3}
tmp=$(mktemp -d)
agent=""
trap '[ -z "$agent" ] || kill "$agent" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "test_loop: FAIL: $*" >&2; exit 1; }
start=$(date +%s)

"$scene" write "$tmp/yard.mkv" 2> "$tmp/scene.log" || { cat "$tmp/scene.log"; fail "scene write"; }
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
	echo "device: loop-test"
	echo "state_dir: $tmp/state"
	echo "model: {path: demo}"
	echo "mqtt: {embedded_listen: '127.0.0.1:$port', discovery: false}"
	echo "cameras:"
	echo "  yard: {source: '$tmp/yard.mkv', loop: true, motion: {enabled: false}, regions: {"
	for k in 0 1 2 3 4 5 6 7 8; do
		echo "    r$k: {rect_px: [$((8 + k % 3 * 52)), $((8 + k / 3 * 52)), 40, 40], every: 500ms, collect: {every: 1s}},"
	done
	echo "  }}"
} > "$tmp/agent.yaml"

# Collect: 9 regions x 20 crops, a crop a second each: about 20 s.
"$coatnet" run --config "$tmp/agent.yaml" > "$tmp/agent.log" 2>&1 &
agent=$!
crops=0 waited=0
while [ "$crops" -lt 180 ]; do
	kill -0 "$agent" 2>/dev/null || { cat "$tmp/agent.log"; fail "the agent stopped by itself"; }
	[ "$waited" -lt 120 ] || { cat "$tmp/agent.log"; fail "$crops crops after ${waited}s, want 180"; }
	sleep 1
	waited=$((waited + 1))
	crops=$(find "$tmp/state/collect" -name '*.png' 2> /dev/null | wc -l)
done
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
agent=""
[ "$rc" -eq 0 ] || { cat "$tmp/agent.log"; fail "the agent exited with $rc on SIGTERM"; }
collected=$(find "$tmp/state/collect" -name '*.png' | wc -l)
echo "test_loop: the agent collected $collected crops in ${waited}s"

# Label: each crop to its true class's folder, then the datasets.
collect=$tmp/state/collect/yard
"$scene" label "$tmp/yard.mkv" "$collect" > "$tmp/label.txt" || fail "scene label"
sed 's/^/test_loop: /' "$tmp/label.txt"
for k in 0 1 2 3 4 5 6 7 8; do
	split=data
	[ "$k" -lt 6 ] || split=test
	for dir in "$collect/r$k"/*/; do
		class=$(basename "$dir")
		mkdir -p "$tmp/$split/$class"
		for f in "$dir"*.png; do mv "$f" "$tmp/$split/$class/r$k-$(basename "$f")"; done
	done
done
labelled=$(find "$tmp/data" "$tmp/test" -name '*.png' | wc -l)
[ "$labelled" -eq "$collected" ] || fail "$labelled of $collected crops labelled"
[ "$(ls "$tmp/data")" = "$(printf 'Bag\nSneaker\nTrouser')" ] || fail "training classes: $(ls "$tmp/data")"
[ "$(ls "$tmp/test")" = "$(printf 'Bag\nSneaker\nTrouser')" ] || fail "test classes: $(ls "$tmp/test")"
for c in Bag Sneaker Trouser; do
	[ "$(ls "$tmp/data/$c" | wc -l)" -ge 20 ] || fail "$(ls "$tmp/data/$c" | wc -l) training crops of $c, want 20"
done

# Train, convert, quantize, evaluate.
args="--arch tiny --img-size 32 --epochs 3 --batch 8 --threads 2 --seed 7"
COATNET=$coatnet PYTHON_TORCH=$py NAME=yard TRAIN_ARGS=$args \
	"$here/make_model.sh" "$tmp/data" "$tmp/m" "$tmp/test" > "$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; fail "make_model.sh"; }

# Convert without flags: config.json beside the checkpoint gives the labels
# and the preprocessing, the weights the architecture.
"$coatnet" convert "$tmp/m/train/model.pth" -o "$tmp/noflags.coatnet" > "$tmp/convert.log" 2>&1 ||
	{ cat "$tmp/convert.log"; fail "convert without flags"; }
"$coatnet" info --json "$tmp/m/yard.coatnet" > "$tmp/info-flags.json" || fail "info"
"$coatnet" info --json "$tmp/noflags.coatnet" > "$tmp/info-noflags.json" || fail "info"

"$coatnet" eval "$tmp/m/yard.coatnet" "$tmp/m/yard-int8.coatnet" "$tmp/noflags.coatnet" --dataset "$tmp/test" \
	--no-progress > "$tmp/eval.txt" 2>&1 || { cat "$tmp/eval.txt"; fail "eval"; }
"$coatnet" eval "$tmp/m/yard.coatnet" "$tmp/m/yard-int8.coatnet" "$tmp/noflags.coatnet" --dataset "$tmp/test" \
	--no-progress --json > "$tmp/eval.json" 2> "$tmp/eval-json.log" || { cat "$tmp/eval-json.log"; fail "eval --json"; }
sed -n '/^ *model /,/^$/p' "$tmp/eval.txt" | sed '/^$/d;s/^/test_loop: /'

"$py" - "$tmp" <<'EOF' || fail "checks above"
import json, re, sys
from pathlib import Path
tmp = Path(sys.argv[1])
classes = ["Bag", "Sneaker", "Trouser"]
count = {c: len(list((tmp / "test" / c).iterdir())) for c in classes}
n = sum(count.values())

# convert without flags is the model the flags made, but for its name.
a, b = (json.loads((tmp / f"info-{k}.json").read_text())["model"] for k in ("flags", "noflags"))
for key in ("config", "labels", "preprocess"):
    assert a[key] == b[key], f"convert without flags: {key} {b[key]}, with flags {a[key]}"

# The table: a top-1 and a row per class for each of the three models.
text = (tmp / "eval.txt").read_text()
top1 = re.findall(r"(\d+\.\d\d)% \((\d+)/(\d+)\)", re.search(r"^ *top-1 (.*)$", text, re.M).group(1))
assert len(top1) == 3 and all(int(t) == n for _, _, t in top1), f"top-1 row {top1}, want 3 of /{n}"
for c in classes:
    row = re.findall(r"\((\d+)/(\d+)\)", re.search(rf"^ *{c} (.*)$", text, re.M).group(1))
    assert len(row) == 3 and all(int(t) == count[c] for _, t in row), f"{c} row {row}, want 3 of /{count[c]}"

# The same figures in --json and in make_model's evals.
models = json.loads((tmp / "eval.json").read_text())["models"]
assert len(models) == 3
for m, (_, correct, _) in zip(models, top1):
    r = m["report"]
    assert r["images"] == n and r["skipped"] == 0 and r["top1_correct"] == int(correct), r
    assert not r["unknown_folders"] and not r["classes_without_pictures"] and not r["bad_pictures"], r
    assert {p["label"]: p["images"] for p in r["per_class"]} == count, r["per_class"]
    assert sum(p["top1_correct"] for p in r["per_class"]) == r["top1_correct"]
    assert sum(map(sum, r["confusion"]["counts"])) == n
flt, q, nf = (m["report"]["top1_correct"] for m in models)
assert nf == flt, f"the flag-less model scores {nf}, the flags' {flt}"
for k, m in (("yard", models[0]), ("yard-int8", models[1])):
    made = json.loads((tmp / "m" / f"eval-{k}.json").read_text())["models"][0]["report"]
    assert made["top1_correct"] == m["report"]["top1_correct"], f"make_model's eval of {k} differs"
res = json.loads((tmp / "m/train/result.json").read_text())
assert min(flt, q) > n / 2, f"float {flt}/{n}, int8 {q}/{n} right: not above half (chance: a third)"
print(f"test_loop: {res['counts']['train']} train, {res['counts']['val']} validation, {n} test crops; "
      f"validation {res['val_accuracy']:.3f} at epoch {res['best_epoch']}; test top-1 float {flt}/{n}, int8 {q}/{n} "
      f"(chance {1 / 3:.3f})")
EOF
echo "test_loop: pass in $(($(date +%s) - start))s"
