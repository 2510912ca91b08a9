#!/usr/bin/env python3
"""Fits the exp polynomial of src/FastRnn/Kernels/VectorMath.cs and checks the sigmoid built on it against the bound.

e^r ~= 1 + r + E2 r^2 + ... + E6 r^6 on |r| <= ln2/2 (the range left by x = n ln2 + r). The constant and linear terms
are fixed at 1 so e^r stays exact to first order near 0; E2..E6 are fitted by weighted least squares for relative
error, with Lawson's reweighting (w *= |error|) driving the fit toward minimax: 3.1e-9 relative in exact arithmetic,
against 5e-9 for the degree-7 Taylor series it replaced (one fused multiply-add fewer).
Check: the coefficients rounded to float32, sigmoid evaluated as the kernel does (negate, clamp to [-87.3, 88.7],
n = round(t log2 e), the Cody-Waite reduction in two fused multiply-adds, Horner with fused multiply-adds, the scale by
2^n exact (VSCALEFPS), 1 + e, one division), over VectorMathTests' inputs (a 1/4096 grid on [-30, 30] and random finite
bit patterns), against |error| <= 4e-7 |sigmoid x| + 1e-9. Needs numpy: /usr/bin/python3 docs/fit_exp.py
"""
import numpy as np

LN2, DEGREE, ITERATIONS = np.log(2.0), 6, 80
f32 = np.float32


def fit():
    r = np.linspace(-LN2 / 2 * 1.0001, LN2 / 2 * 1.0001, 40001)
    e = np.exp(r)
    a = np.vander(r, DEGREE + 1, increasing=True)[:, 2:]
    w, best = np.ones_like(r), None
    for _ in range(ITERATIONS):
        s = np.sqrt(w) / e
        c = np.linalg.lstsq(a * s[:, None], (e - 1 - r) * s, rcond=None)[0]
        err = (1 + r + a @ c - e) / e
        if best is None or np.max(np.abs(err)) < best[0]:
            best = (np.max(np.abs(err)), c.copy())
        w = np.maximum(w * np.abs(err), 1e-300)
        w /= w.sum()
    return best


def fma(a, b, c):
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def sigmoid_kernel(x, coefficients):
    log2e, ln2_high, ln2_low = f32(1.44269504088896341), f32(0.693145751953125), f32(1.42860682030941723e-6)
    with np.errstate(all="ignore"):
        t = np.minimum(np.maximum((f32(0) - x).astype(np.float32), f32(-87.3)), f32(88.7)).astype(np.float32)
        n = np.round((t * log2e).astype(np.float32)).astype(np.float32)
        r = fma(n, np.full_like(n, -ln2_high), t)
        r = fma(n, np.full_like(n, -ln2_low), r)
        p = np.full_like(r, coefficients[-1])
        for c in coefficients[-2::-1]:
            p = fma(p, r, np.full_like(r, c))
        e = (p.astype(np.float64) * np.exp2(n.astype(np.float64))).astype(np.float32)
        return (f32(1) / (f32(1) + e).astype(np.float32)).astype(np.float32)


exact_error, c = fit()
coefficients = np.concatenate([[1.0, 1.0], c]).astype(np.float32)
bits = np.random.default_rng(7).integers(0, 2**32, 400000, dtype=np.uint64).astype(np.uint32).view(np.float32)
x = np.concatenate([np.arange(-30, 30, 1 / 4096).astype(np.float32), bits[np.isfinite(bits)],
                    np.float32([0, -0.0, 87, -87, 88.7, -88.7, 100, -100, 1e-40, 3.4e38, -3.4e38])])
with np.errstate(over="ignore"):
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
ratio = np.abs(sigmoid_kernel(x, coefficients).astype(np.float64) - exact) / (4e-7 * np.abs(exact) + 1e-9)
print(f"exact-arithmetic relative error {exact_error:.2e}; float32 sigmoid worst error / bound {ratio.max():.3f} at x = {x[ratio.argmax()]}")
print("E2..E6:", ", ".join(f"{v!r}" for v in map(float, coefficients[2:])))
