#!/bin/sh
# make model: train on a folder dataset, convert, quantize on the training
# pictures, evaluate on a held-out folder and write the model card.
#
#   tools/train/make_model.sh DATA OUT_DIR [TEST]
#
# Environment: COATNET (the binary, default bin/coatnet), PYTHON_TORCH
# (default /usr/bin/python3), NAME (default: DATA's base name), and
# TRAIN_ARGS (more train.py flags, e.g. "--arch tiny --epochs 5 --init X").
# Writes OUT_DIR/NAME.coatnet, NAME-int8.coatnet, NAME.md (the card),
# labels.txt, train/ (checkpoint, split, log) and calib/.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DATA OUT_DIR [TEST]" >&2; exit 2; }
data=$1 out=$2 test=${3:-}
coatnet=${COATNET:-bin/coatnet}
py=${PYTHON_TORCH:-/usr/bin/python3}
name=${NAME:-$(basename "$(cd "$data" && pwd)")}
here=$(dirname "$0")
mkdir -p "$out"
# shellcheck disable=SC2086
"$py" "$here/train.py" --data "$data" --out "$out/train" --calib-dir "$out/calib" ${TRAIN_ARGS:-}
cp "$out/train/labels.txt" "$out/labels.txt"
# shellcheck disable=SC2046
"$coatnet" convert "$out/train/model.pth" $(cat "$out/train/convert_flags.txt") --labels "$out/labels.txt" \
	--name "$name" --description "trained by make model on $data" -o "$out/$name.coatnet"
"$coatnet" quantize "$out/$name.coatnet" --calib "$out/calib" --images 500 --json --no-progress \
	-o "$out/$name-int8.coatnet" > "$out/quantize.json"
evals=""
if [ -n "$test" ]; then
	for m in "$name" "$name-int8"; do
		"$coatnet" eval "$out/$m.coatnet" --dataset "$test" --json --no-progress > "$out/eval-$m.json"
		evals="$evals --eval $m=$out/eval-$m.json"
	done
fi
# shellcheck disable=SC2086
"$py" "$here/model_card.py" --train "$out/train" --name "$name" --quantize "$out/quantize.json" $evals \
	${test:+--test "$test"} -o "$out/$name.md"
echo "wrote $out/$name.coatnet, $out/$name-int8.coatnet and the card $out/$name.md"
