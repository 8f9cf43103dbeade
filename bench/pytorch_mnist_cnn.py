#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for disco's fashion-mnist task (tasks/fashion-mnist.json).

Same network, loss, optimiser, batch size and initialisation as disco's built-in task:
  Conv2D(8, 5x5, valid, relu) -> Conv2D(16, 5x5, valid, relu) -> MaxPool 2x2 -> Dropout .25
  -> Flatten -> Dense(32, relu) -> Dropout .25 -> Dense(10) ; softmax cross-entropy on logits
  Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7), batch 64, Glorot-uniform weights, zero biases,
  training set reshuffled every epoch, last partial batch kept (as disco does).
PyTorch is NCHW and flattens (c, h, w) where disco (NHWC) flattens (h, w, c): a permutation of
the Dense(1600, 32) rows, so the two networks are the same function family.

The IDX files are read and converted to float tensors before the clock starts; the timed part is
the training loop only (forward, loss, backward, Adam step, per-batch loss/accuracy bookkeeping
like disco's trainer). Evaluation on the 10,000-image test split is not timed.

Prints one JSON line:
  {"samples_per_s": .., "test_accuracy": .., "test_loss": .., "epochs": .., "threads": .., ...}

Run with Debian's interpreter (which has python3-torch): /usr/bin/python3 bench/pytorch_mnist_cnn.py
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time


def _threads_from_argv(argv, default=2):
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return str(default)


# Debian's torch calls the system BLAS (OpenBLAS, pthread build) for some GEMMs; torch's
# set_num_threads() does not reach it, so cap it to the same budget before it is loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv(sys.argv[1:]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """Reads a gzipped (or plain) IDX file into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype_code, ndim = raw[2], raw[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{dtype_code:02x}")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} elements, found {data.size}")
    return data.reshape(dims)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}(.gz) not found in {data_dir}")


def load_split(data_dir, prefix):
    images = read_idx(find(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(data_dir, f"{prefix}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{prefix}: unexpected shapes {images.shape} / {labels.shape}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1).contiguous()  # N,1,28,28
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def build_model():
    model = nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(),
        nn.Conv2d(8, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(16 * 10 * 10, 32), nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(32, 10),
    )
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)  # Keras glorot_uniform: same fans for conv/dense
            nn.init.zeros_(m.bias)
    return model


@torch.no_grad()
def evaluate(model, x, y, batch_size=1024):
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    correct, total_loss = 0, 0.0
    for i in range(0, x.shape[0], batch_size):
        out = model(x[i:i + batch_size])
        total_loss += loss_fn(out, y[i:i + batch_size]).item()
        correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / x.shape[0], total_loss / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="train on a random subset of N images")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=DEFAULT_DATA, help="directory with the IDX files")
    ap.add_argument("--verbose", action="store_true", help="per-epoch lines on stderr")
    a = ap.parse_args()
    if a.epochs < 1 or a.threads < 1 or a.batch_size < 1 or a.limit < 0:
        ap.error("--epochs, --threads and --batch-size must be >= 1, --limit >= 0")

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    x_train, y_train = load_split(a.data, "train")
    x_test, y_test = load_split(a.data, "t10k")
    if a.limit and a.limit < x_train.shape[0]:
        keep = torch.randperm(x_train.shape[0], generator=gen)[:a.limit]
        x_train, y_train = x_train[keep].contiguous(), y_train[keep].contiguous()
    n = x_train.shape[0]

    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    epochs = []
    train_seconds = 0.0
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, a.batch_size):
            idx = order[i:i + a.batch_size]
            xb, yb = x_train.index_select(0, idx), y_train.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * idx.shape[0]
            correct += (out.detach().argmax(1) == yb).sum().item()
        secs = time.perf_counter() - t0
        train_seconds += secs
        epochs.append({"epoch": epoch, "loss": loss_sum / n, "accuracy": correct / n,
                       "seconds": secs, "samples_per_s": n / secs})
        if a.verbose:
            print(f"pytorch epoch {epoch}/{a.epochs}  loss {loss_sum / n:.4f}  acc {correct / n:.4f}"
                  f"  {secs:.1f}s  {n / secs:.0f} samples/s", file=sys.stderr)

    test_acc, test_loss = evaluate(model, x_test, y_test)
    print(json.dumps({
        "samples_per_s": n * a.epochs / train_seconds,
        "train_seconds": train_seconds,
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "epochs": a.epochs,
        "threads": a.threads,
        "train_samples": n,
        "batch_size": a.batch_size,
        "torch_version": torch.__version__,
        "per_epoch": epochs,
    }))


if __name__ == "__main__":
    main()
