#!/usr/bin/env python3
"""Load FastRnn-written files into PyTorch and compare: the user's side of a parity check.

    /usr/bin/python3.11 tests/parity/check_roundtrip.py MODEL.safetensors INPUT.safetensors RESULT.safetensors

MODEL is a state_dict as FastRnn saves it (PyTorch's names, F32); INPUT holds x, lengths, h0 (c0), d_output,
d_h_n (d_c_n), as for `fastrnn run`; RESULT is what `fastrnn run --out` wrote. The script builds the PyTorch
module from the weight names and shapes, loads MODEL with strict=True, runs the same forward and backward in
float64 and prints, per tensor, the largest |FastRnn - PyTorch| / max(1, |PyTorch|). Exit code 1 if any exceeds 1e-5.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from make_stack_roundtrip import run  # noqa: E402


def build(state, nonlinearity):
    w = state["weight_hh_l0"]
    hidden = w.shape[1]
    gates = w.shape[0] // hidden
    layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in state if k.startswith("weight_ih_l"))
    bidirectional = "weight_ih_l0_reverse" in state
    inputs = state["weight_ih_l0"].shape[1]
    if gates == 4:
        module = torch.nn.LSTM(inputs, hidden, num_layers=layers, bidirectional=bidirectional)
    elif gates == 3:
        module = torch.nn.GRU(inputs, hidden, num_layers=layers, bidirectional=bidirectional)
    else:
        module = torch.nn.RNN(inputs, hidden, num_layers=layers, bidirectional=bidirectional, nonlinearity=nonlinearity)
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return module.double(), gates == 4


def main(model_path, input_path, result_path):
    state, metadata = safetensors_io.load_with_metadata(model_path, as_torch=True)
    module, lstm = build(state, metadata.get("nonlinearity", "tanh"))
    inputs = safetensors_io.load(input_path, as_torch=True)
    ours = safetensors_io.load(result_path, as_torch=True)
    expected = run(module, inputs["x"].double(), inputs["lengths"].long(), inputs["h0"].double(),
                   inputs["c0"].double() if lstm else None, inputs["d_output"].double(), inputs["d_h_n"].double(),
                   inputs["d_c_n"].double() if lstm else None)
    worst = 0.0
    for name, ref in expected.items():
        got = ours[name].double()
        err = ((got - ref).abs() / ref.abs().clamp(min=1.0)).max().item()
        worst = max(worst, err)
        print(f"{name:32s} {tuple(ref.shape)!s:18s} max rel err {err:.2e}")
    print(f"worst {worst:.2e}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
