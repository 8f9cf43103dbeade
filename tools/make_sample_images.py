#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes Fashion-MNIST images (Debian's dataset-fashion-mnist) as PNG files with a labels CSV, the
# "image files + CSV of file names and labels" form a participant connects in the web app or
# passes to `disco train --data labels.csv`:
#   make_sample_images.py OUT_DIR [--count N] [--offset K] [--test] [--shards S] [--seed N]
# OUT_DIR/*.png and OUT_DIR/labels.csv (filename,label with the task's class names), or with
# --shards S: OUT_DIR/shard-<k>/{*.png,labels.csv}, S disjoint sets of N images each.
# Images are picked from a seeded shuffle of the train (or --test: t10k) set, skipping the first
# K of that order, so shards, offsets and the test set never overlap.
import argparse, gzip, os, random, struct, zlib

SRC = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
          "Bag", "Ankle boot"]


def read_idx(name):
    with gzip.open(os.path.join(SRC, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    item = 1
    for d in shape[1:]:
        item *= d
    body = data[4 + 4 * dims:]
    return shape, [body[i * item:(i + 1) * item] for i in range(shape[0])]


def png_gray(width, height, pixels):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def write_set(out, items):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "labels.csv"), "w") as csv:
        csv.write("filename,label\n")
        for name, pixels, label in items:
            with open(os.path.join(out, name), "wb") as f:
                f.write(png_gray(28, 28, pixels))
            csv.write('%s,"%s"\n' % (name, LABELS[label]))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--test", action="store_true")
    ap.add_argument("--shards", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    prefix = "t10k" if a.test else "train"
    _, images = read_idx(prefix + "-images-idx3-ubyte.gz")
    _, labels = read_idx(prefix + "-labels-idx1-ubyte.gz")
    order = list(range(len(images)))
    random.Random(a.seed).shuffle(order)
    n_sets = max(1, a.shards)
    if a.offset + n_sets * a.count > len(order):
        raise SystemExit("make_sample_images: asked for %d images after offset %d, the %s set has %d"
                         % (n_sets * a.count, a.offset, prefix, len(order)))
    for s in range(n_sets):
        picked = order[a.offset + s * a.count:a.offset + (s + 1) * a.count]
        items = [("%s-%05d.png" % (prefix, i), images[i], labels[i][0]) for i in picked]
        write_set(os.path.join(a.out, "shard-%d" % s) if a.shards else a.out, items)


if __name__ == "__main__":
    main()
