#!/bin/sh
# Rebuild the Fashion-MNIST demo models in models/ from scratch: train both
# attention forms in four stages (18 epochs at lr 2e-3 from random
# weights; then 6 epochs at lr 5e-4, 6 at lr 2.5e-4 and 2 at lr 1e-4
# without augmentation, each from the weights before it with another data
# order, saving an exponential moving average of the weights), convert them with coatnet, quantize them to
# int8, and store PyTorch's reference figures for the tests in
# testdata/fashion/. Training uses one thread per run because PyTorch's
# results depend on the thread count and the shipped models were made so
# (both forms side by side on a 2-core machine, about 4.4 minutes per epoch
# each); with --threads 2 a run takes about 2.7 minutes per epoch there.
#
#   tools/train/build_models.sh [BUILD_DIR]        (default: build/train)
#
# Needs /usr/bin/python3 with python3-torch, python3-pil, python3-numpy,
# Debian's dataset-fashion-mnist, and Go (bin/coatnet is built here).
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build/train}
py=/usr/bin/python3
mkdir -p "$build" models
make build
$py tools/train/make_samples.py
labels=models/fashion-mnist-labels.txt
$py -c 'import sys; sys.path.insert(0, "tools/train"); from train import LABELS; print("\n".join(LABELS))' > "$labels"
for form in pre post; do
	first="$build/fmnist-$form"
	second="$build/fmnist-$form-ft"
	third="$build/fmnist-$form-ft2"
	out="$build/fmnist-$form-ft3"
	[ -f "$first/model.pth" ] || $py tools/train/train.py --attention "$form-softmax" --threads 1 --out "$first"
	[ -f "$second/model.pth" ] || $py tools/train/train.py --attention "$form-softmax" --threads 1 \
		--init "$first/model.pth" --epochs 6 --lr 5e-4 --seed 2 --ema 0.998 --eval-every 2 --out "$second"
	[ -f "$third/model.pth" ] || $py tools/train/train.py --attention "$form-softmax" --threads 1 \
		--init "$second/model.pth" --epochs 6 --lr 2.5e-4 --seed 3 --ema 0.998 --eval-every 2 --out "$third"
	[ -f "$out/model.pth" ] || $py tools/train/train.py --attention "$form-softmax" --threads 1 \
		--init "$third/model.pth" --epochs 2 --lr 1e-4 --seed 4 --ema 0.998 --no-augment --eval-every 1 --out "$out"
	flags=$($py -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["convert_flags"]))' "$out/result.json")
	acc=$($py -c 'import json,sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["test_accuracy"]))' "$out/result.json")
	# shellcheck disable=SC2086
	bin/coatnet convert "$out/model.pth" $flags --labels "$labels" --name "fmnist-$form" \
		--description "Fashion-MNIST demo, $form-softmax relative attention, PyTorch test top-1 $acc%" \
		-o "models/fmnist-$form.coatnet"
	bin/coatnet quantize "models/fmnist-$form.coatnet" --calib fashion-mnist --images 1000 \
		-o "models/fmnist-$form-int8.coatnet" > "$build/quantize-$form.txt"
	$py -c 'import json,sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
json.dump({"test_accuracy": r["test_accuracy"], "logits": s}, open(sys.argv[3], "w"), indent=1)' \
		"$out/result.json" "$out/samples.json" "testdata/fashion/pytorch-fmnist-$form.json"
done
