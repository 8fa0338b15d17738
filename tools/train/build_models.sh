#!/bin/sh
# Rebuild the Fashion-MNIST demo models in models/ from scratch: train both
# attention forms in one stage (85 epochs from random weights, batch 256,
# lr 2e-3, half of each batch rendered camera-like, 5,000 training pictures
# held out for the choice of the epoch, an exponential moving average of
# the weights saved), convert them with coatnet, quantize them to int8 on
# clean and camera-like training pictures (tools/train/fmnist_calib.py) with
# every tensor's rule revisited by the logits' error (--refine 400), and
# store PyTorch's reference figures for the tests in testdata/fashion/.
# On a GPU (an H200) both forms side by side took 6 minutes; on a CPU it
# runs as it is but for many hours (2.7 minutes an epoch of an earlier,
# lighter recipe on two cores).
# A folder whose result.json exists is not trained again.
#
#   tools/train/build_models.sh [BUILD_DIR]        (default: build/train)
#
# Needs a python3 with torch, PIL and numpy (PY=..., default /usr/bin/python3:
# Debian's python3-torch), Debian's dataset-fashion-mnist, and Go
# (bin/coatnet is built here).
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build/train}
py=${PY:-/usr/bin/python3}
mkdir -p "$build" models
make build
$py tools/train/make_samples.py
labels=models/fashion-mnist-labels.txt
$py -c 'import sys; sys.path.insert(0, "tools/train"); from train import LABELS; print("\n".join(LABELS))' > "$labels"
val=5000 # training pictures held out for the choice of the epoch, and kept out of calibration
[ -d "$build/calib" ] || $py tools/train/fmnist_calib.py "$build/calib" $val
for form in pre post; do
	out="$build/fmnist-$form"
	[ -f "$out/result.json" ] || $py tools/train/train.py --attention "$form-softmax" --epochs 85 --batch 256 \
		--lr 2e-3 --ema 0.998 --camera 0.5 --val $val --seed 1 --out "$out"
	flags=$($py -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["convert_flags"]))' "$out/result.json")
	acc=$($py -c 'import json,sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["test_accuracy"]))' "$out/result.json")
	# shellcheck disable=SC2086
	bin/coatnet convert "$out/model.pth" $flags --labels "$labels" --name "fmnist-$form" \
		--description "Fashion-MNIST demo, $form-softmax relative attention, PyTorch test top-1 $acc%" \
		-o "models/fmnist-$form.coatnet"
	bin/coatnet quantize "models/fmnist-$form.coatnet" --calib "$build/calib" --images 1000 --refine 400 \
		-o "models/fmnist-$form-int8.coatnet" > "$build/quantize-$form.txt"
	$py -c 'import json,sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
json.dump({"test_accuracy": r["test_accuracy"], "logits": s}, open(sys.argv[3], "w"), indent=1)' \
		"$out/result.json" "$out/samples.json" "testdata/fashion/pytorch-fmnist-$form.json"
done
