#!/usr/bin/env python3
"""PyTorch's side of the CPU benchmarks: the same work as a Tensorium benchmark class, timed here.

    python3 torch_steps.py MODE [--threads N] [--budget SECONDS] [--only NAME,NAME]

MODE is one benchmark class (Bench/*Benchmarks.cs):
  steps      TrainingStepBenchmarks: one optimizer step (forward, cross-entropy, backward, gradient
             clipping where the example clips, update) of each example's model, with the example's
             layers, sizes, batch, optimizer and hyperparameters (initialisation differs: irrelevant to time)
  conv       ConvBenchmarks: conv2d 64x32x13x13 * 64x32x3x3, forward and both backward passes
  pool       PoolBenchmarks: max-pool 2x2/2 of 64x32x26x26 with indices, forward and backward
  softmax    SoftmaxBenchmarks: softmax and log-softmax of 4096x1024 over the last axis, softmax backward
  attention  AttentionBenchmarks: attention of 256 (batch x heads) x 128 x 32, full and causal, forward
             and backward (PyTorch 1.13 has no fused scaled_dot_product_attention: its own math path,
             as nn.MultiheadAttention runs it; F.scaled_dot_product_attention where present)
  recurrent  RecurrentBenchmarks: nn.LSTM and nn.GRU, 128 -> 128 units over 64 sequences of 28 steps,
             forward (training mode, so the graph for backward is kept) and backward (input and
             parameter gradients)

Each case: warm-up, then timed batches of calls (about 0.1 s each) until --budget seconds (at
least 5, at most 50 batches); the median of the batches' seconds per call. One JSON object on stdout: {"torch": version, "threads": N, "results": {case: seconds}}.
Run it with OPENBLAS_NUM_THREADS=1, MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 1073741824 (as
Tensorium's bench does: TorchBaseline.ConfigureEnvironment) and the bench's thread count.

With --serve the script times on request instead, for a caller that alternates with its own timings
(Bench/AlternatingSteps.cs): it prints {"torch": version, "threads": N}, then for every line
"CASE CALLS" on stdin (the case is built and warmed up on first use) one untimed call, then the
seconds per call over CALLS back-to-back calls, one number per line, until stdin closes.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def median_seconds(fn, budget, warmup=3, least=5, most=50, batch_seconds=0.1):
    """The median over timed batches of the mean seconds per call. A batch runs about
    batch_seconds, as Tensorium's side (BenchmarkDotNet) averages each of its iterations over many
    calls: a median of single calls would drop the slow calls (a preempted one, a collection) that
    an iteration's mean keeps, and so favour this side on a shared machine."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    calls = max(1, round(batch_seconds / max(time.perf_counter() - start, 1e-9)))
    times = []
    deadline = time.perf_counter() + budget
    while len(times) < most and (len(times) < least or time.perf_counter() < deadline):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# The examples' models (Examples/*.cs, Layers/Models/Architectures.cs)
# ---------------------------------------------------------------------------------------------

def cnn(in_channels=1, image_size=28, classes=10):
    """Architectures.Cnn: the Keras tutorial CNN, 'valid' 3x3 convolutions."""
    after = ((image_size - 2) // 2 - 2) // 2 - 2
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * after * after, 64), nn.ReLU(),
        nn.Linear(64, classes))


def mlp():
    """Architectures.Mlp(784, 128, 10)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


class LstmClassifier(nn.Module):
    """Architectures.LstmClassifier(28, 128, 2 layers, 10): image rows as time steps, the last step's output."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x.reshape(x.shape[0], x.shape[2], x.shape[3]))
        return self.head(out[:, -1])


def causal_mask(length):
    return torch.triu(torch.full((length, length), float("-inf")), diagonal=1)


class CharTransformer(nn.Module):
    """Layers/Models/CharTransformer.cs with TransformerExample's sizes: pre-norm GELU blocks, causal."""

    def __init__(self, vocabulary=80, context=64, d_model=128, heads=4, layers=2, feed_forward=512):
        super().__init__()
        self.tok_emb = nn.Embedding(vocabulary, d_model)
        self.pos_emb = nn.Embedding(context, d_model)
        block = nn.TransformerEncoderLayer(d_model, heads, feed_forward, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocabulary)
        self.register_buffer("mask", causal_mask(context))

    def forward(self, ids):
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.shape[1]))
        return self.head(self.ln_f(self.blocks(x, mask=self.mask)))


class Seq2SeqTransformer(nn.Module):
    """Layers/Models/Seq2SeqTransformer.cs with Seq2SeqExample's sizes: pre-norm ReLU, final norms, causal decoder."""

    def __init__(self, vocabulary=11, length=10, d_model=64, heads=4, encoder_layers=2, decoder_layers=2, feed_forward=256):
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(vocabulary, d_model), nn.Embedding(vocabulary, d_model)
        self.src_pos, self.tgt_pos = nn.Embedding(length, d_model), nn.Embedding(length, d_model)
        enc = nn.TransformerEncoderLayer(d_model, heads, feed_forward, dropout=0.0, batch_first=True, norm_first=True)
        dec = nn.TransformerDecoderLayer(d_model, heads, feed_forward, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(enc, encoder_layers, norm=nn.LayerNorm(d_model))
        self.decoder = nn.TransformerDecoder(dec, decoder_layers, norm=nn.LayerNorm(d_model))
        self.head = nn.Linear(d_model, vocabulary)
        self.register_buffer("mask", causal_mask(length))

    def forward(self, source, target_in):
        positions = torch.arange(source.shape[1])
        memory = self.encoder(self.src_emb(source) + self.src_pos(positions))
        h = self.decoder(self.tgt_emb(target_in) + self.tgt_pos(positions), memory, tgt_mask=self.mask)
        return self.head(h)


def training_step(name):
    """The model, its step function: as TrainingStepBenchmarks.Setup and Step."""
    g = torch.Generator().manual_seed(1)
    clip = False
    if name in ("cnn", "mlp", "lstm", "cifar", "transfer"):
        classes = 5 if name == "transfer" else 10
        model = {"cnn": lambda: cnn(), "mlp": mlp, "lstm": LstmClassifier,
                 "cifar": lambda: cnn(3, 32), "transfer": lambda: cnn(classes=5)}[name]()
        if name == "transfer":
            for layer in list(model)[:8]:   # TransferExample.FreezeBase: the convolutional base
                layer.requires_grad_(False)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(trainable, lr=0.01) if name == "mlp" else torch.optim.Adam(trainable, lr=1e-3)
        shape = (64, 3, 32, 32) if name == "cifar" else (64, 1, 28, 28)
        images = torch.rand(shape, generator=g)
        labels = torch.arange(64) % classes
        loss = lambda: F.cross_entropy(model(images), labels)
    elif name == "transformer":
        model = CharTransformer()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.99), weight_decay=0.01)
        x = torch.randint(0, 80, (32, 64), generator=g)
        y = torch.randint(0, 80, (32, 64), generator=g)
        loss = lambda: F.cross_entropy(model(x).reshape(-1, 80), y.reshape(-1))
        clip = True
    elif name == "seq2seq":
        model = Seq2SeqTransformer()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        source, target_in, target = (torch.randint(0, 11, (64, 10), generator=g) for _ in range(3))
        loss = lambda: F.cross_entropy(model(source, target_in).reshape(-1, 11), target.reshape(-1))
        clip = True
    else:
        raise SystemExit(f"torch_steps.py: unknown model '{name}'")
    model.train()

    def step():
        value = loss()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return step


def steps_cases():
    return {name: (lambda n=name: training_step(n)) for name in ("cnn", "mlp", "lstm", "transformer", "seq2seq", "transfer", "cifar")}


# ---------------------------------------------------------------------------------------------
# Kernels (the same shapes as the benchmark classes)
# ---------------------------------------------------------------------------------------------

def conv_cases():
    x, w, b = torch.rand(64, 32, 13, 13) * 2 - 1, torch.rand(64, 32, 3, 3) * 2 - 1, torch.rand(64) * 2 - 1
    dy = torch.rand(64, 64, 11, 11) * 2 - 1
    back = lambda mask: torch.ops.aten.convolution_backward(dy, x, w, [64], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask)
    return {"Forward": lambda: (lambda: F.conv2d(x, w, b)),
            "BackwardInput": lambda: (lambda: back([True, False, False])),
            "BackwardWeight": lambda: (lambda: back([False, True, True]))}


def pool_cases():
    x = torch.rand(64, 32, 26, 26)
    y, idx = torch.ops.aten.max_pool2d_with_indices(x, [2, 2], [2, 2], [0, 0], [1, 1], False)
    dy = torch.rand_like(y)
    return {"Forward": lambda: (lambda: torch.ops.aten.max_pool2d_with_indices(x, [2, 2], [2, 2], [0, 0], [1, 1], False)),
            "Backward": lambda: (lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx))}


def softmax_cases():
    x = torch.rand(4096, 1024) * 8 - 4
    y, dy = torch.softmax(x, -1), torch.rand(4096, 1024)
    return {"Forward": lambda: (lambda: torch.softmax(x, -1)),
            "LogForward": lambda: (lambda: torch.log_softmax(x, -1)),
            "Backward": lambda: (lambda: torch.ops.aten._softmax_backward_data(dy, y, -1, torch.float32))}


def attention_cases():
    batch, heads, length, dim = 32, 8, 128, 32   # AttentionBenchmarks: 256 (batch x heads) x 128 x 32
    scale = 1 / math.sqrt(dim)

    def attention(q, k, v, causal):
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        s = torch.matmul(q, k.transpose(-2, -1)) * scale
        if causal:
            s = s + causal_mask(length)
        return torch.matmul(torch.softmax(s, -1), v)

    def inputs(grad):
        return [(torch.rand(batch, heads, length, dim) * 2 - 1).requires_grad_(grad) for _ in range(3)]

    def forward(causal):
        q, k, v = inputs(False)
        return lambda: attention(q, k, v, causal)

    def backward(causal):
        q, k, v = inputs(True)
        o = attention(q, k, v, causal)
        do = torch.rand_like(o)
        return lambda: torch.autograd.grad(o, (q, k, v), do, retain_graph=True)

    return {"Forward/full": lambda: forward(False), "Forward/causal": lambda: forward(True),
            "Backward/full": lambda: backward(False), "Backward/causal": lambda: backward(True)}


def recurrent_cases():
    batch, steps, size = 64, 28, 128   # RecurrentBenchmarks: batch 64, 28 steps, 128 inputs, 128 units
    layers = {"Lstm": nn.LSTM(size, size, batch_first=True), "Gru": nn.GRU(size, size, batch_first=True)}

    def forward(cell):
        layer, x = layers[cell], torch.rand(batch, steps, size) * 2 - 1
        return lambda: layer(x)

    def backward(cell):
        layer, x = layers[cell], (torch.rand(batch, steps, size) * 2 - 1).requires_grad_(True)
        y, _ = layer(x)
        dy = torch.rand_like(y)
        return lambda: torch.autograd.grad(y, [x, *layer.parameters()], dy, retain_graph=True)

    return {f"{method}/{cell}": (lambda f=f, c=cell: f(c))
            for method, f in (("Forward", forward), ("Backward", backward)) for cell in layers}


MODES = {"steps": steps_cases, "conv": conv_cases, "pool": pool_cases, "softmax": softmax_cases, "attention": attention_cases,
         "recurrent": recurrent_cases}


def serve(cases):
    """Times CASE for CALLS calls per request line "CASE CALLS"; prints seconds per call."""
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    built = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2 or parts[0] not in cases or not parts[1].isdigit() or int(parts[1]) < 1:
            raise SystemExit(f"torch_steps.py --serve: expected 'CASE CALLS' with a known case and CALLS >= 1, got {line.strip()!r}")
        name, calls = parts[0], int(parts[1])
        if name not in built:
            built[name] = fn = cases[name]()
            for _ in range(3):
                fn()
        fn = built[name]
        fn()   # one untimed call first, as the caller's own timer makes (AlternatingRounds.Timer)
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        print((time.perf_counter() - start) / calls, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed repeats per case")
    parser.add_argument("--only", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--serve", action="store_true", help="time cases on request from stdin (see above)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.serve:
        with torch.inference_mode(False):
            serve(MODES[args.mode]())
        return
    only = {c for c in args.only.split(",") if c}
    results = {}
    with torch.inference_mode(False):
        for case, make in MODES[args.mode]().items():
            if only and case not in only:
                continue
            seconds = median_seconds(make(), args.budget)
            results[case] = seconds
            print(f"torch {args.mode} {case}: {seconds * 1e3:.3f} ms", file=sys.stderr)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
