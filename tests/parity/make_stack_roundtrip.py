#!/usr/bin/env python3
"""PyTorch <-> FastRnn round trip through safetensors, for 2-layer bidirectional LSTM and GRU with lengths.

Run ONCE from the repo root (the outputs are committed; the C# tests never need PyTorch):

    /usr/bin/python3.11 tests/parity/make_stack_roundtrip.py

For each case it writes three files into tests/parity/stack/:
  <case>.model.safetensors     the module's state_dict (F32, PyTorch's names): what a user would save
  <case>.input.safetensors     x [T,B,I], lengths [B] (I64), h0/c0 [L*D,B,H], d_output, d_h_n, d_c_n (F64)
  <case>.expected.safetensors  output [T,B,D*H], h_n, c_n and every gradient (grad.<name>, grad.x, grad.h0,
                               grad.c0), computed in float64 from the float32-rounded weights and inputs

The reverse direction (FastRnn-saved weights loaded here) is `check_roundtrip.py`.
Debian has no Python safetensors package, so safetensors_io.py writes the format itself.
"""

import os
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

T, B, I, H, L = 6, 4, 5, 3, 2
LENGTHS = [6, 2, 5, 1]  # unsorted; PyTorch refuses 0
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stack")
CASES = {"lstm2_bidir": (torch.nn.LSTM, 2001), "gru2_bidir": (torch.nn.GRU, 2002)}


def run(module, x, lengths, h0, c0, d_output, d_h_n, d_c_n):
    """Forward on a packed batch, then backward of <d_output, output> + <d_h_n, h_n> (+ <d_c_n, c_n>)."""
    x = x.clone().requires_grad_(True)
    h0 = h0.clone().requires_grad_(True)
    c0 = None if c0 is None else c0.clone().requires_grad_(True)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, state = module(packed, h0 if c0 is None else (h0, c0))
    output, _ = pad_packed_sequence(out, total_length=x.shape[0])
    h_n, c_n = (state, None) if c0 is None else state
    loss = (output * d_output).sum() + (h_n * d_h_n).sum()
    if c_n is not None:
        loss = loss + (c_n * d_c_n).sum()
    module.zero_grad()
    loss.backward()
    result = {"output": output.detach(), "h_n": h_n.detach(), "grad.x": x.grad, "grad.h0": h0.grad}
    if c_n is not None:
        result["c_n"] = c_n.detach()
        result["grad.c0"] = c0.grad
    for name, p in module.named_parameters():
        result["grad." + name] = p.grad
    return result


def make(case, cls, seed):
    torch.manual_seed(seed)
    module = cls(I, H, num_layers=L, bidirectional=True)  # PyTorch's default init, float32
    lstm = cls is torch.nn.LSTM
    D = 2

    def rand(*shape):
        return torch.randn(*shape).float().double()  # float32-representable, so both sides start equal

    x, h0 = rand(T, B, I), rand(L * D, B, H)
    c0 = rand(L * D, B, H) if lstm else None
    d_output, d_h_n = rand(T, B, D * H), rand(L * D, B, H)
    d_c_n = rand(L * D, B, H) if lstm else None
    lengths = torch.tensor(LENGTHS, dtype=torch.int64)

    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    safetensors_io.save(os.path.join(OUT_DIR, case + ".model.safetensors"), state, {"format": "pt", "source": "make_stack_roundtrip.py"})
    inputs = {"x": x, "lengths": lengths, "h0": h0, "d_output": d_output, "d_h_n": d_h_n}
    if lstm:
        inputs.update({"c0": c0, "d_c_n": d_c_n})
    safetensors_io.save(os.path.join(OUT_DIR, case + ".input.safetensors"), inputs)

    expected = run(module.double(), x, lengths, h0, c0, d_output, d_h_n, d_c_n)
    safetensors_io.save(os.path.join(OUT_DIR, case + ".expected.safetensors"), expected)
    print(f"{case}: {len(state)} parameters, {len(expected)} expected tensors")


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (cls, seed) in CASES.items():
        make(name, cls, seed)
