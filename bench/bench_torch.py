#!/usr/bin/python3
"""The network of a Darknet cfg, built in PyTorch and timed like build/bench-darknet
(bench/bench_darknet.c), for bench/bench.sh:

    bench_torch.py CFG train|infer|latency STEPS THREADS

Reads the sections the benchmark cfgs use: [convolutional] (batch_normalize, filters, size,
stride, pad, activation), [shortcut] (from, activation; Darknet's semantics: the earlier
output subsampled by stride and added into the first channels), [avgpool], [connected],
[softmax], [maxpool], and an MCD cfg's sections: the trunk up to [mcd_split], then two heads
(the sections up to [mcd_discrepancy] built twice, or head 1 and head 2 on either side of
[mcd_head]), [mcd_discrepancy] and [mcd_l1]. Training: SGD with the cfg's learning_rate,
momentum and decay; cross-entropy, of each head for an MCD cfg (what Darknet's training
step computes on a labeled batch: both heads' CE, their gradients summed into the trunk).
Inference: the softmax, or for an MCD cfg the heads' softmaxes and the L1 score
sum_k |p1_k - p2_k| (what mcd_predict computes). Prints: mode, median seconds per step,
images per second, peak RSS in MiB.

PyTorch at its fastest here, so the comparison is with what a PyTorch user would get:
channels_last tensors (oneDNN's NHWC kernels: faster than NCHW here in training and eager
inference), the zero-padded shortcut with F.pad, and for inference the faster of eager
mode under torch.inference_mode and a TorchScript trace frozen and passed through
torch.jit.optimize_for_inference (batch norm folded into the convolutions, oneDNN
layouts kept between layers).
"""
import os
import resource
import warnings
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_cfg(path):
    sections = []
    for raw in open(path):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('['):
            sections.append((line, {}))
        else:
            key, value = line.split('=', 1)
            sections[-1][1][key.strip()] = value.strip()
    return sections


def activation(name):
    return {'relu': nn.ReLU(inplace=False), 'leaky': nn.LeakyReLU(0.1),
            'linear': nn.Identity()}[name]


def build_layers(sections, c, h, w):
    """Modules for a run of stock sections on a c x h x w input: (modules, kinds, shape)."""
    layers, kinds = nn.ModuleList(), []
    for kind, o in sections:
        if kind == '[convolutional]':
            n, size = int(o['filters']), int(o.get('size', 1))
            stride, bn = int(o.get('stride', 1)), int(o.get('batch_normalize', 0))
            pad = size // 2 if int(o.get('pad', 0)) else int(o.get('padding', 0))
            mods = [nn.Conv2d(c, n, size, stride, pad, bias=not bn)]
            if bn:
                # Darknet's rolling statistics: 0.99 old + 0.01 new
                mods.append(nn.BatchNorm2d(n, momentum=0.01))
            mods.append(activation(o.get('activation', 'logistic')))
            layer = nn.Sequential(*mods)
            h, w, c = (h + 2 * pad - size) // stride + 1, (w + 2 * pad - size) // stride + 1, n
        elif kind == '[shortcut]':
            layer = activation(o.get('activation', 'linear'))
            layer.source = int(o['from'])
        elif kind == '[avgpool]':
            layer = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            h = w = 1
        elif kind == '[maxpool]':
            size, stride = int(o.get('size', 2)), int(o.get('stride', 2))
            layer = nn.MaxPool2d(size, stride, padding=(size - 1) // 2)
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
        elif kind == '[connected]':
            n = int(o['output'])
            layer = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, n),
                                  activation(o.get('activation', 'logistic')))
            c, h, w = n, 1, 1
        elif kind == '[softmax]':
            layer = nn.Identity()  # the loss (or the inference step) applies it
        else:
            raise SystemExit(f'bench_torch.py: no PyTorch equivalent for {kind}')
        layers.append(layer)
        kinds.append(kind)
    return layers, kinds, (c, h, w)


def run_layers(layers, kinds, x):
    """Darknet's forward: layer after layer, every output kept for [shortcut]."""
    outputs = []
    for i, (kind, layer) in enumerate(zip(kinds, layers)):
        if kind == '[shortcut]':
            add = outputs[i + layer.source]
            stride = add.shape[2] // x.shape[2]
            add = add[:, :, ::stride, ::stride]
            if add.shape[1] > x.shape[1]:
                add = add[:, :x.shape[1]]
            elif add.shape[1] < x.shape[1]:
                add = F.pad(add, (0, 0, 0, 0, 0, x.shape[1] - add.shape[1]))
            x = layer(x + add)
        else:
            x = layer(x)
        outputs.append(x)
    return x


class DarknetNet(nn.Module):
    """The layers in cfg order. For an MCD cfg: the trunk, then both heads on its features;
    forward returns the logits of head 1 and head 2 side by side ([z1 | z2])."""

    def __init__(self, sections):
        super().__init__()
        net = sections[0][1]
        c, h, w = int(net['channels']), int(net['height']), int(net['width'])
        kinds = [k for k, _ in sections]
        self.mcd = '[mcd_split]' in kinds
        if not self.mcd:
            self.layers, self.kinds, shape = build_layers(sections[1:], c, h, w)
            self.classes = shape[0]
            return
        split, end = kinds.index('[mcd_split]'), kinds.index('[mcd_discrepancy]')
        if '[mcd_head]' in kinds:
            cut = kinds.index('[mcd_head]')
            head1, head2 = sections[split + 1:cut], sections[cut + 1:end]
        else:
            head1 = head2 = sections[split + 1:end]
        self.layers, self.kinds, shape = build_layers(sections[1:split], c, h, w)
        self.head1, self.kinds1, out1 = build_layers(head1, *shape)
        self.head2, self.kinds2, _ = build_layers(head2, *shape)
        self.classes = out1[0]

    def forward(self, x):
        x = run_layers(self.layers, self.kinds, x)
        if not self.mcd:
            return x
        return torch.cat([run_layers(self.head1, self.kinds1, x),
                          run_layers(self.head2, self.kinds2, x)], 1)


def loss_of(model, out, y):
    """Cross-entropy of the output, or of each head for an MCD network."""
    if not model.mcd:
        return F.cross_entropy(out, y)
    k = model.classes
    return F.cross_entropy(out[:, :k], y) + F.cross_entropy(out[:, k:], y)


def predict(model, out):
    """The softmax, or for an MCD network [p1 | p2] and the L1 score between them."""
    if not model.mcd:
        return F.softmax(out, 1)
    k = model.classes
    p1, p2 = F.softmax(out[:, :k], 1), F.softmax(out[:, k:], 1)
    return p1, p2, (p1 - p2).abs().sum(1)


# BENCH_CLOCK=cpu: process CPU time instead of wall time, as bench_darknet.c does
CLOCK = time.process_time if os.environ.get('BENCH_CLOCK') == 'cpu' else time.perf_counter


def median_seconds(step, steps):
    times = []
    for i in range(-2, steps):
        t0 = CLOCK()
        step()
        if i >= 0:
            times.append(CLOCK() - t0)
    times.sort()
    return times[len(times) // 2]


def main():
    cfg, mode, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    sections = read_cfg(cfg)
    net_opts = sections[0][1]
    batch = 1 if mode == 'latency' else int(net_opts['batch'])
    model = DarknetNet(sections)
    x = torch.rand(batch, int(net_opts['channels']), int(net_opts['height']),
                   int(net_opts['width']))
    y = torch.randint(0, model.classes, (batch,))
    if mode == 'train':
        model = model.to(memory_format=torch.channels_last)
        xl = x.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=float(net_opts.get('learning_rate', 0.001)),
                              momentum=float(net_opts.get('momentum', 0.9)),
                              weight_decay=float(net_opts.get('decay', 0.0001)))
        model.train()

        def train_step():
            opt.zero_grad()
            loss = loss_of(model, model(xl), y)
            loss.backward()
            opt.step()
        median = median_seconds(train_step, steps)
    else:
        model.eval()
        eager = model.to(memory_format=torch.channels_last)
        xl = x.to(memory_format=torch.channels_last)

        def eager_step():
            with torch.inference_mode():
                predict(model, eager(xl))
        median = median_seconds(eager_step, steps)
        warnings.filterwarnings('ignore')  # the tracer on the shape tests in forward
        with torch.no_grad():
            frozen = torch.jit.optimize_for_inference(
                torch.jit.freeze(torch.jit.trace(DarknetNet(sections).eval(), x)))

            def frozen_step():
                predict(model, frozen(x))
            median = min(median, median_seconds(frozen_step, steps))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'{mode} {median:.6f} {batch / median:.1f} {rss:.0f}')


if __name__ == '__main__':
    main()
