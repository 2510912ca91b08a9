#!/usr/bin/env python3
"""Independent sanity check of the parity files written by make_parity.py.

    /usr/bin/python3.11 tests/parity/check_parity.py

Reads each <case>.txt back (the same way the C# tests do), then:
  * recomputes one LSTM / GRU / Elman step by hand in plain Python floats
    (gate order i,f,g,o for LSTM; r,z,n for GRU);
  * re-implements every case from scratch (explicit per-sequence time loops,
    no nn.RNN/pack_padded_sequence) and checks output, h_n, c_n and all
    gradients (via autograd on the hand-written loop) against the file;
  * checks padded output positions are exactly 0, grad.x at padded positions is
    exactly 0, h_n(forward) == output[len-1, b, :H], h_n(reverse) == output[0, b, H:].
"""

import math
import os

import torch

torch.set_default_dtype(torch.float64)
DIR = os.path.dirname(os.path.abspath(__file__))
CASES = [c + s for c in ("elman_tanh", "elman_relu", "lstm", "gru") for s in ("", "_bidir")]


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            name, dims, *vals = line.split()
            shape = [int(d) for d in dims.split(",")]
            if name == "lengths":
                data[name] = [int(v) for v in vals]
            else:
                data[name] = torch.tensor([float(v) for v in vals]).reshape(shape)
            assert len(vals) == math.prod(shape), name
    return data


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def matvec(W, v):
    return [sum(W[r][k] * v[k] for k in range(len(v))) for r in range(len(W))]


def hand_first_step(case, d):
    """Plain-Python first forward step for batch entry b=1 (length 5), direction 0."""
    b = 1
    x = d["x"][0, b].tolist()
    h = d["h0"][0, b].tolist()
    Wi, Wh = d["weight_ih_l0"].tolist(), d["weight_hh_l0"].tolist()
    bi, bh = d["bias_ih_l0"].tolist(), d["bias_hh_l0"].tolist()
    gi = [a + c for a, c in zip(matvec(Wi, x), bi)]
    gh = [a + c for a, c in zip(matvec(Wh, h), bh)]
    H = len(h)
    if case.startswith("lstm"):
        c = d["c0"][0, b].tolist()
        a = [p + q for p, q in zip(gi, gh)]
        hn = []
        for j in range(H):
            i_, f_, g_, o_ = sig(a[j]), sig(a[H + j]), math.tanh(a[2 * H + j]), sig(a[3 * H + j])
            cj = f_ * c[j] + i_ * g_
            hn.append(o_ * math.tanh(cj))
    elif case.startswith("gru"):
        hn = []
        for j in range(H):
            r = sig(gi[j] + gh[j])
            z = sig(gi[H + j] + gh[H + j])
            n = math.tanh(gi[2 * H + j] + r * gh[2 * H + j])
            hn.append((1 - z) * n + z * h[j])
    else:
        act = math.tanh if "tanh" in case else (lambda v: max(v, 0.0))
        hn = [act(p + q) for p, q in zip(gi, gh)]
    got = d["output"][0, b, :H].tolist()
    err = max(abs(p - q) for p, q in zip(hn, got))
    assert err < 1e-14, (case, err)
    return err


def cell(case, x, h, c, Wi, Wh, bi, bh):
    gi = Wi @ x + bi
    gh = Wh @ h + bh
    if case.startswith("lstm"):
        i, f, g, o = (gi + gh).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if case.startswith("gru"):
        ir, iz, in_ = gi.chunk(3)
        hr, hz, hn = gh.chunk(3)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        n = torch.tanh(in_ + r * hn)
        return (1 - z) * n + z * h, None
    pre = gi + gh
    return (torch.tanh(pre) if "tanh" in case else torch.relu(pre)), None


def reference(case, d):
    """Hand-written packed-sequence semantics; returns grads via autograd."""
    lstm = case.startswith("lstm")
    T, B, _ = d["x"].shape
    D, _, H = d["h0"].shape
    L = d["lengths"]
    leaves = {k: v.clone().requires_grad_(True) for k, v in d.items()
              if k in ("x", "h0", "c0") or k.startswith(("weight_", "bias_"))}
    out = [[torch.zeros(D * H) for _ in range(B)] for _ in range(T)]
    hN, cN = [[None] * B for _ in range(D)], [[None] * B for _ in range(D)]
    for dr in range(D):
        sfx = "_reverse" if dr == 1 else ""
        W = [leaves[n + "_l0" + sfx] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        for b in range(B):
            h = leaves["h0"][dr, b]
            c = leaves["c0"][dr, b] if lstm else None
            ts = range(L[b]) if dr == 0 else reversed(range(L[b]))
            for t in ts:
                h, c = cell(case, leaves["x"][t, b], h, c, *W)
                out[t][b] = torch.cat([out[t][b][:dr * H], h, out[t][b][(dr + 1) * H:]])
            hN[dr][b], cN[dr][b] = h, c
    output = torch.stack([torch.stack(row) for row in out])
    h_n = torch.stack([torch.stack(r) for r in hN])
    loss = (d["d_output"] * output).sum() + (d["d_h_n"] * h_n).sum()
    res = {"output": output, "h_n": h_n}
    if lstm:
        c_n = torch.stack([torch.stack(r) for r in cN])
        loss = loss + (d["d_c_n"] * c_n).sum()
        res["c_n"] = c_n
    loss.backward()
    for k, v in leaves.items():
        res["grad." + k] = v.grad
    return res


def main():
    for case in CASES:
        d = load(os.path.join(DIR, case + ".txt"))
        T, B, _ = d["x"].shape
        D, _, H = d["h0"].shape
        L = d["lengths"]
        step_err = hand_first_step(case, d)
        ref = reference(case, d)
        worst = 0.0
        for k, v in ref.items():
            assert v.shape == d[k].shape, (case, k)
            worst = max(worst, (v - d[k]).abs().max().item())
        assert worst < 1e-12, (case, worst)
        for b in range(B):
            assert (d["output"][L[b]:, b] == 0).all()          # padded output exactly 0
            assert (d["grad.x"][L[b]:, b] == 0).all()          # padded grad.x exactly 0
            assert torch.equal(d["h_n"][0, b], d["output"][L[b] - 1, b, :H])
            if D == 2:
                assert torch.equal(d["h_n"][1, b], d["output"][0, b, H:])
        print(f"{case:18s} ok  hand-step err={step_err:.1e}  max|ref-file|={worst:.1e}")


if __name__ == "__main__":
    main()
