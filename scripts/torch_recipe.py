#!/usr/bin/python3
"""The issue's PyTorch recipe for MCD, run on our data split, as a reference for `darknet mcd
train` (not used by CI; needs Debian's python3-torch and python3-sklearn):

    /usr/bin/python3 scripts/torch_recipe.py [options]      (-h lists them)

The network is the trunk of a Darknet cfg (default cfg/mcd-resnet.cfg: every section before
[mcd_split], built by bench/bench_torch.py) and two heads, Linear(features, classes) each.
Pre-training: both heads' cross-entropy, SGD (momentum 0.9, weight decay 5e-4), lr 0.1 times
0.1 at 50% and 75% of the epochs. Fine-tuning (../shared/design/mcd-method.md, the official
loop): per iteration, step A on a labeled batch with head 2 detached from the trunk, then
step B with a labeled batch and an unlabeled batch in separate forward passes, L_s + L_u,
one update; lr 0.01, weight decay 1e-4, margin 1.2, no augmentation, the unlabeled loader
cycling through the cfg's `unlabeled` list (all of it: this script chooses no checkpoint).

Evaluation at every --eval-every iterations and at the end: ID test accuracy of each head,
and AUROC / FPR at 95% TPR (ID positive) of the L1 score sum_k |p1_k - p2_k| for ID test
against MNIST, Gaussian and uniform noise (held-out protocol), and unlabeled ID against
unlabeled MNIST (transductive), as in `darknet mcd valid`.

Images come from the list files of the .data file (28x28 grey PNGs, see docs/data.md),
read with a small PNG decoder (zlib + the five row filters) and cached in data/cache/."""
import argparse
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import DarknetNet, read_cfg  # noqa: E402


def decode_png(path):
    """An 8-bit greyscale, non-interlaced PNG as a uint8 array (height, width)."""
    blob = open(path, 'rb').read()
    if blob[:8] != b'\x89PNG\r\n\x1a\n':
        raise SystemExit(f'{path}: not a PNG')
    pos, idat, width = 8, b'', 0
    while pos < len(blob):
        length, kind = struct.unpack('>I4s', blob[pos:pos + 8])
        body = blob[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or colour != 0 or interlace:
                raise SystemExit(f'{path}: not an 8-bit grey PNG')
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)
    out = np.zeros((height, width), np.int32)
    prev = np.zeros(width, np.int32)
    for y in range(height):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            cur = row
        elif kind == 2:
            cur = (row + prev) & 255
        else:  # sub, average, Paeth: each byte depends on the one to its left
            cur = np.zeros(width, np.int32)
            for x in range(width):
                a = cur[x - 1] if x else 0
                b, c = prev[x], (prev[x - 1] if x else 0)
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (row[x] + pred) & 255
        out[y] = prev = cur
    return out.astype(np.uint8)


def read_data_file(path):
    keys = {}
    for raw in open(path):
        line = raw.split('#', 1)[0].strip()
        if '=' in line:
            k, v = line.split('=', 1)
            keys[k.strip()] = v.strip()
    return keys


def load_list(list_path, labels):
    """Images of a list file as float tensor (n, 1, 28, 28) in [0, 1] and label indices (the
    label name Darknet's way: the one contained in the path; -1 if none)."""
    cache = os.path.join('data/cache', list_path.replace('/', '_') + '.npz')
    paths = [p.strip() for p in open(list_path) if p.strip()]
    if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(list_path):
        z = np.load(cache)
        x, y = z['x'], z['y']
    else:
        x = np.stack([decode_png(p) for p in paths])
        y = np.array([next((i for i, name in enumerate(labels)
                            if name in os.path.basename(p)), -1) for p in paths])
        np.savez(cache, x=x, y=y)
    return torch.from_numpy(x).float().div(255).unsqueeze(1), torch.from_numpy(y).long()


class TwoHeads(nn.Module):
    def __init__(self, sections, classes):
        super().__init__()
        self.trunk = DarknetNet(sections)
        features = self.trunk.shapes[-1][0]
        self.f1, self.f2 = nn.Linear(features, classes), nn.Linear(features, classes)

    def forward(self, x, detach_f2=False):
        f = self.trunk(x.expand(-1, 3, -1, -1))
        return self.f1(f), self.f2(f.detach() if detach_f2 else f)


def entropy(logits):
    logp = F.log_softmax(logits, 1)
    return -(logp.exp() * logp).sum(1)


def augment(x, pad):
    """Random horizontal flip and a random crop of the image zero-padded by `pad`."""
    n, _, h, w = x.shape
    flip = torch.rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy, dx = torch.randint(0, 2 * pad + 1, (2, n))
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


@torch.no_grad()
def probabilities(model, x):
    model.eval()
    p1, p2 = [], []
    for i in range(0, len(x), 500):
        z1, z2 = model(x[i:i + 500])
        p1.append(F.softmax(z1, 1))
        p2.append(F.softmax(z2, 1))
    model.train()
    return torch.cat(p1), torch.cat(p2)


def auroc_fpr95(id_score, ood_score):
    """ID positive, low score = ID. FPR95: OOD share at or below the ID score's 95th
    percentile (the threshold accepting 95% of ID)."""
    y = np.r_[np.ones(len(id_score)), np.zeros(len(ood_score))]
    auroc = roc_auc_score(y, -np.r_[id_score, ood_score])
    delta = np.sort(id_score)[int(np.ceil(0.95 * len(id_score))) - 1]
    return 100 * auroc, 100 * np.mean(ood_score <= delta)


def evaluate(model, sets, tag):
    p1, p2 = probabilities(model, sets['id_test'][0])
    y = sets['id_test'][1]
    acc1 = 100 * (p1.argmax(1) == y).float().mean().item()
    acc2 = 100 * (p2.argmax(1) == y).float().mean().item()
    l1 = lambda a, b: (a - b).abs().sum(1).numpy()
    id_l1, id_msp = l1(p1, p2), -p1.max(1).values.numpy()
    parts = [f'{tag}: acc {acc1:.2f}/{acc2:.2f}']
    for name in ('ood-mnist', 'ood-gaussian', 'ood-uniform'):
        q1, q2 = probabilities(model, sets[name][0])
        auroc, fpr = auroc_fpr95(id_l1, l1(q1, q2))
        msp, _ = auroc_fpr95(id_msp, -q1.max(1).values.numpy())
        parts.append(f'{name[4:]} {auroc:.2f}/{fpr:.2f} (MSP {msp:.2f})')
    t_id, t_ood = (probabilities(model, sets[k][0]) for k in ('unl_id', 'unl_ood'))
    auroc, fpr = auroc_fpr95(l1(*t_id), l1(*t_ood))
    parts.append(f'transductive {auroc:.2f}/{fpr:.2f}')
    print(' | '.join(parts), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cfg', default='cfg/mcd-resnet.cfg')
    ap.add_argument('--data', default='cfg/fmnist.data')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--pretrain-epochs', type=float, default=4)
    ap.add_argument('--finetune-epochs', type=float, default=2)
    ap.add_argument('--finetune-lr', type=float, default=0.01)
    ap.add_argument('--margin', type=float, default=1.2)
    ap.add_argument('--bn-momentum', type=float, default=0.1,
                    help='PyTorch default 0.1; Darknet rolls its statistics with 0.01')
    ap.add_argument('--pad-crop', type=int, default=4,
                    help='pre-training augmentation: flip + crop of the padded image; 0: none')
    ap.add_argument('--eval-every', type=int, default=100, help='fine-tuning iterations')
    ap.add_argument('--pretrained', help='load (or, when missing, save) the pre-trained state')
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)

    data = read_data_file(a.data)
    labels = [s.strip() for s in open(data['labels']) if s.strip()]
    ood = data['ood'].split(',')
    sets = {'train': load_list(data['train'], labels), 'unl': load_list(data['unlabeled'], labels),
            'id_test': load_list(data['id_test'], labels),
            'unl_id': load_list(data['transductive_id'], labels),
            'unl_ood': load_list(data['transductive_ood'], labels)}
    for path in ood:
        sets[os.path.basename(path).rsplit('.', 1)[0]] = load_list(path, labels)
    sections = read_cfg(a.cfg)
    trunk = sections[:[k for k, _ in sections].index('[mcd_split]')]
    model = TwoHeads(trunk, len(labels))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = a.bn_momentum
    x_train, y_train = sets['train']
    n, b = len(x_train), a.batch
    per_epoch = n // b

    if a.pretrained and os.path.exists(a.pretrained):
        model.load_state_dict(torch.load(a.pretrained))
    else:
        total = int(a.pretrain_epochs * per_epoch)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, [total // 2, total * 3 // 4], 0.1)
        t0 = time.time()
        for it in range(total):
            if it % per_epoch == 0:
                order = torch.randperm(n)
            idx = order[(it % per_epoch) * b:(it % per_epoch + 1) * b]
            x = augment(x_train[idx], a.pad_crop) if a.pad_crop else x_train[idx]
            z1, z2 = model(x)
            loss = F.cross_entropy(z1, y_train[idx]) + F.cross_entropy(z2, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if (it + 1) % 200 == 0:
                print(f'pretrain {it + 1}/{total} loss {loss.item():.3f} '
                      f'{(it + 1) * b / (time.time() - t0):.0f} img/s', flush=True)
        if a.pretrained:
            torch.save(model.state_dict(), a.pretrained)
    evaluate(model, sets, 'pretrained')

    x_unl = sets['unl'][0]
    opt = torch.optim.SGD(model.parameters(), lr=a.finetune_lr, momentum=0.9, weight_decay=1e-4)
    total = int(a.finetune_epochs * per_epoch)
    unl_at, unl_order = len(x_unl), None
    t0 = time.time()
    for it in range(total):
        if it % per_epoch == 0:
            order = torch.randperm(n)
        idx = order[(it % per_epoch) * b:(it % per_epoch + 1) * b]
        # step A: head 2 detached from the trunk
        z1, z2 = model(x_train[idx], detach_f2=True)
        loss = F.cross_entropy(z1, y_train[idx]) + F.cross_entropy(z2, y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        # step B: another labeled batch, and an unlabeled one; separate forward passes
        jdx = torch.randint(0, n, (b,))
        z1, z2 = model(x_train[jdx])
        l_s = F.cross_entropy(z1, y_train[jdx]) + F.cross_entropy(z2, y_train[jdx])
        if unl_at + b > len(x_unl):
            unl_order, unl_at = torch.randperm(len(x_unl)), 0
        u1, u2 = model(x_unl[unl_order[unl_at:unl_at + b]])
        unl_at += b
        h1, h2 = entropy(u1).mean(), entropy(u2).mean()
        l_u = F.relu(a.margin - (h1 - h2))
        opt.zero_grad()
        (l_s + l_u).backward()
        opt.step()
        if (it + 1) % 50 == 0:
            print(f'finetune {it + 1}/{total} L_s {l_s.item():.3f} L_u {l_u.item():.3f} '
                  f'H1 {h1.item():.3f} H2 {h2.item():.3f} '
                  f'{(it + 1) * 3 * b / (time.time() - t0):.0f} img/s', flush=True)
        if (it + 1) % a.eval_every == 0 or it + 1 == total:
            evaluate(model, sets, f'iteration {it + 1}')


if __name__ == '__main__':
    main()
