#!/usr/bin/env python3
"""Fits the rational tanh of src/FastRnn/Kernels/VectorMath.cs and checks it in float32 against the library's bound.

tanh x ~= x P(x^2) / Q(x^2) on |x| <= S, P and Q of degree 4 with P(0) = Q(0) = 1, sign(x) beyond S = 9.
Fit: g(y) = tanh(sqrt y) / sqrt y on y in [0, S^2]; the linearized problem P(y) - g(y) Q(y) = 0 is solved by weighted
least squares for relative error, and Lawson's reweighting (w *= |error|) drives it toward the minimax fit.
Check: the coefficients rounded to float32, evaluated as the kernel does (x*x, Horner with fused multiply-adds, x * P,
one division), over VectorMathTests' inputs (a 1/4096 grid on [-30, 30] and random finite bit patterns), against
|error| <= 4e-7 |tanh x| + 1e-9. Needs numpy: /usr/bin/python3.11 docs/fit_tanh.py
"""
import numpy as np

S, DEG_P, DEG_Q, ITERATIONS = 9.0, 4, 4, 60


def fit():
    x = np.sort(np.concatenate([np.linspace(0, S, 20001)[1:], np.geomspace(1e-6, 0.05, 2000)]))
    y, g = x * x, np.tanh(x) / x
    w, q, best = np.ones_like(y), np.ones_like(y), None
    for _ in range(ITERATIONS):
        a = np.hstack([np.vander(y, DEG_P + 1, increasing=True), -g[:, None] * np.vander(y, DEG_Q + 1, increasing=True)[:, 1:]])
        s = np.sqrt(w) / (g * q)
        coef = np.linalg.lstsq(a * s[:, None], g * s, rcond=None)[0]
        p, b = coef[:DEG_P + 1], np.concatenate([[1.0], coef[DEG_P + 1:]])
        q = np.polyval(b[::-1], y)
        err = (np.polyval(p[::-1], y) / q - g) / g
        if best is None or np.max(np.abs(err)) < best[0]:
            best = (np.max(np.abs(err)), p.copy(), b.copy())
        w = np.maximum(w * np.abs(err), 1e-300)
        w /= w.sum()
    return best


def horner_fma(coefficients, y):
    acc = np.full_like(y, coefficients[-1])
    for c in coefficients[-2::-1]:
        acc = (acc.astype(np.float64) * y + np.float64(c)).astype(np.float32)  # one rounding per step: a fused multiply-add
    return acc


def kernel(p, b, x):
    with np.errstate(all="ignore"):
        y = (x.astype(np.float64) * x).astype(np.float32)
        r = ((x * horner_fma(p, y)).astype(np.float32) / horner_fma(b, y)).astype(np.float32)
    return np.where(np.abs(x) > np.float32(S), np.copysign(np.float32(1), x), r)


exact_error, p, b = fit()
p, b = p.astype(np.float32), b.astype(np.float32)
p[0] = 1  # the fit lands on 1 to float precision (b[0] is 1 by construction); exactly 1 keeps tanh x = x for tiny x
bits = np.random.default_rng(7).integers(0, 2**32, 400000, dtype=np.uint64).astype(np.uint32).view(np.float32)
x = np.concatenate([np.arange(-30, 30, 1 / 4096).astype(np.float32), bits[np.isfinite(bits)],
                    np.float32([0, -0.0, 8.999999, 9, 9.000001, 1e-40, 3.4e38])])
t = np.tanh(x.astype(np.float64))
ratio = np.abs(kernel(p, b, x).astype(np.float64) - t) / (4e-7 * np.abs(t) + 1e-9)
print(f"exact-arithmetic relative error {exact_error:.2e}; float32 worst error / bound {ratio.max():.3f} at x = {x[ratio.argmax()]}")
print("P:", ", ".join(f"{v!r}" for v in map(float, p)))
print("Q:", ", ".join(f"{v!r}" for v in map(float, b)))
