#!/usr/bin/python3
"""Write the model card of a `make model` run: a Markdown file beside the
model with the data, split, recipe, seed, epochs and the validation and
test figures as measured (validation by train.py, int8 agreement by
`coatnet quantize --json`, test by `coatnet eval --json`).

    model_card.py --train DIR --name NAME [--quantize Q.json] [--eval NAME=E.json ...] [--test DIR] -o CARD.md
"""

import argparse
import json
from pathlib import Path


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f}%"


def eval_reports(doc):
    """The per-model reports of `coatnet eval --json`: one object, a list,
    or an object with a "models" or "reports" list."""
    if isinstance(doc, list):
        return doc
    for key in ("models", "reports"):
        if isinstance(doc.get(key), list):
            return doc[key]
    return [doc]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="train.py's --out folder")
    ap.add_argument("--name", required=True)
    ap.add_argument("--quantize", help="coatnet quantize --json output")
    ap.add_argument("--eval", action="append", default=[], help="MODEL=FILE: coatnet eval --json output for MODEL")
    ap.add_argument("--test", help="the held-out folder evaluated")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    r = json.loads((Path(args.train) / "result.json").read_text())
    cfg, h, spec = r["config"], r["hyper"], r["preprocessing"]
    lines = [f"# {args.name}", "",
             f"A CoAtNet (timm's rw family, C-C-T-T) trained by `tools/train/train.py` on `{r['data']}`.", "",
             "## Data", "",
             f"- Classes ({len(r['classes'])}, the folder names): {', '.join(r['classes'])}",
             f"- Split: {r['counts']['train']} training and {r['counts']['val']} validation pictures, "
             f"stratified, {h['val_fraction']:g} of each class held out with seed {h['seed']} "
             f"(`split.json` lists them); {r['counts']['skipped']} unreadable picture(s) skipped.",
             f"- Test: {'`' + args.test + '`, never seen in training or model choice' if args.test else 'no held-out folder given (TEST=DIR)'}.",
             "", "## Model", "",
             f"- {'Fine-tuned from `' + r['init'] + '` (sha256 ' + r['init_sha256'][:16] + '..., head replaced)' if r['init'] else 'From scratch, arch ' + h['arch']}: "
             f"stem {cfg['stem_width']}, widths {cfg['embed_dim']}, depths {cfg['depths']}, "
             f"{cfg['attention']} attention, {cfg['img_size']}x{cfg['img_size']} {spec['colour']}, {r['params']:,} parameters.",
             f"- Preprocessing: bilinear, crop mode {spec['crop_mode']}, crop_pct {spec['crop_pct']:g}, "
             f"mean {spec['mean']}, std {spec['std']}.",
             "", "## Recipe", "",
             f"- AdamW lr {h['lr']:g} (warm-up one epoch, cosine decay), weight decay {h['wd']:g}, batch {h['batch']}, "
             f"label smoothing {h['label_smoothing']:g}, seed {h['seed']}, {h['threads']} thread(s), on {r['device']}.",
             f"- Augmentation: {h['augment']}.",
             f"- Epochs: {r['epochs_run']} run of {h['epochs']} (early stop after {h['patience']} without a better "
             f"validation accuracy); saved: epoch {r['best_epoch']}; {r['train_seconds']:.0f} s.",
             f"- Command: `{r['command']}`",
             "", "## Figures", "",
             "| measured on | model | top-1 | top-5 |", "|---|---|---|---|",
             f"| validation split (PyTorch) | float | {pct(r['val_accuracy'])} | |"]
    for item in args.eval:
        model, _, path = item.partition("=")
        for rep in eval_reports(json.loads(Path(path).read_text())):
            lines.append(f"| test folder (`coatnet eval`) | {rep.get('model', model)} | {pct(rep.get('accuracy'))} "
                         f"| {pct(rep.get('top5_accuracy', rep.get('top5')))} |")
    if args.quantize:
        q = json.loads(Path(args.quantize).read_text())
        lines += ["", f"int8 against float on {q.get('measured_images')} calibration pictures (`coatnet quantize`): "
                      f"top-1 agreement {pct(q.get('top1_agreement'))}."]
    lines += ["", "Per epoch:", "", "| epoch | train loss | train top-1 | validation loss | validation top-1 |",
              "|---|---|---|---|---|"]
    for e in r["log"]:
        lines.append(f"| {e['epoch']} | {e['train_loss']:.4f} | {pct(e['train_acc'])} | "
                     f"{e.get('val_loss', float('nan')):.4f} | {pct(e.get('val_acc'))} |")
    Path(args.output).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
