#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes disjoint Fashion-MNIST shards as MNIST directories (IDX files) for federated tests:
#   make_shards.py OUT_DIR N_SHARDS N_TRAIN_PER_SHARD N_TEST [SEED]
# OUT_DIR/shard-<k>/train-*  each client's data (a seeded random, disjoint, iid split)
# OUT_DIR/all/train-*        the union of the shards (centralised training on the same data)
# OUT_DIR/all/t10k-*         the first N_TEST test images (shared evaluation set)
import os, random, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from make_sample_images import read_idx  # noqa: E402  (Debian's Fashion-MNIST IDX reader)


def write_idx(path, shape, items):
    kind = 3 if len(shape) == 3 else 1
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, kind]))
        f.write(struct.pack(">" + "I" * len(shape), len(items), *shape[1:]))
        for it in items:
            f.write(it)


def main():
    out, n_shards, per_shard, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    img_shape, images = read_idx("train-images-idx3-ubyte.gz")
    lab_shape, labels = read_idx("train-labels-idx1-ubyte.gz")
    order = list(range(len(images)))
    random.Random(seed).shuffle(order)
    chosen = order[: n_shards * per_shard]
    os.makedirs(os.path.join(out, "all"), exist_ok=True)
    write_idx(os.path.join(out, "all", "train-images-idx3-ubyte"), img_shape, [images[i] for i in chosen])
    write_idx(os.path.join(out, "all", "train-labels-idx1-ubyte"), lab_shape, [labels[i] for i in chosen])
    for k in range(n_shards):
        part = chosen[k * per_shard : (k + 1) * per_shard]
        d = os.path.join(out, "shard-%d" % k)
        os.makedirs(d, exist_ok=True)
        write_idx(os.path.join(d, "train-images-idx3-ubyte"), img_shape, [images[i] for i in part])
        write_idx(os.path.join(d, "train-labels-idx1-ubyte"), lab_shape, [labels[i] for i in part])
    t_img_shape, t_images = read_idx("t10k-images-idx3-ubyte.gz")
    t_lab_shape, t_labels = read_idx("t10k-labels-idx1-ubyte.gz")
    write_idx(os.path.join(out, "all", "t10k-images-idx3-ubyte"), t_img_shape, t_images[:n_test])
    write_idx(os.path.join(out, "all", "t10k-labels-idx1-ubyte"), t_lab_shape, t_labels[:n_test])


main()
