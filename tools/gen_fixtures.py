#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generates tests/fixtures/torch_golden.json: a small CNN's outputs, loss, gradients and the
weights after two Adam steps, computed by PyTorch (Debian python3-torch), for
src/core/model/golden_test.cpp. Weights and inputs are written in disco's layouts (NHWC images,
HWIO conv kernels, (in, out) dense kernels) and converted to PyTorch's inside this script, so the
test checks layout conventions as well as the math.

Run: /usr/bin/python3 tools/gen_fixtures.py   (deterministic; commit the output)
"""
import json
import os

import torch

torch.manual_seed(0)
torch.set_num_threads(1)
N, H, W, C = 3, 8, 8, 2

# disco layouts
x_nhwc = torch.rand(N, H, W, C)
labels = torch.tensor([0, 3, 1])
conv_k = torch.randn(3, 3, C, 4) * 0.3          # (kh, kw, in, out)
conv_b = torch.randn(4) * 0.1
dw_k = torch.randn(3, 3, 4, 1) * 0.3            # (kh, kw, in, mult)
dw_b = torch.randn(4) * 0.1
dense_k = torch.randn(4 * 4 * 4, 5) * 0.2       # (in, out), input flattened as (h, w, c)
dense_b = torch.randn(5) * 0.1
spec = {
    "input_shape": [H, W, C],
    "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "depthwise_conv2d", "kernel_size": 3, "padding": "same", "activation": "tanh"},
        {"type": "max_pool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 5, "activation": "softmax"},
    ],
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"type": "adam", "learning_rate": 0.01, "epsilon": 1e-7},
}
disco_weights = [conv_k, conv_b, dw_k, dw_b, dense_k, dense_b]

# the same network in PyTorch (NCHW)
params = [p.clone().requires_grad_(True) for p in disco_weights]


def forward(ps):
    ck, cb, dk, db, lk, lb = ps
    x = x_nhwc.permute(0, 3, 1, 2)
    x = torch.nn.functional.conv2d(x, ck.permute(3, 2, 0, 1), cb, padding=1).relu()
    # depthwise: torch weight (out=in*mult, 1, kh, kw)
    x = torch.nn.functional.conv2d(x, dk.permute(2, 3, 0, 1).reshape(4, 1, 3, 3), db,
                                   padding=1, groups=4).tanh()
    x = torch.nn.functional.max_pool2d(x, 2)
    x = x.permute(0, 2, 3, 1).reshape(N, -1)  # flatten in (h, w, c) order like disco
    return x @ lk + lb


logits = forward(params)
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
grads = [p.grad.clone() for p in params]

opt = torch.optim.Adam(params, lr=0.01, eps=1e-7)
opt.step()
opt.zero_grad()
torch.nn.functional.cross_entropy(forward(params), labels).backward()
opt.step()


def flat(t):
    return [round(float(v), 9) for v in t.detach().reshape(-1)]


out = {
    "spec": spec,
    "x": flat(x_nhwc),
    "labels": labels.tolist(),
    "weights": [flat(w) for w in disco_weights],
    "probabilities": flat(torch.softmax(logits, dim=1)),
    "loss": float(loss),
    "grads": [flat(g) for g in grads],
    "weights_after_two_adam_steps": [flat(p) for p in params],
}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "torch_golden.json")
with open(path, "w") as f:
    json.dump(out, f)
    f.write("\n")
print("wrote", os.path.normpath(path))
