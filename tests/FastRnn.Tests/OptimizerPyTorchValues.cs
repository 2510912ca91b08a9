// Expected parameters after each of three steps, computed by PyTorch's float32 kernels (torch 1.13 on this machine, via
// /usr/bin/python3.11) running the PyTorch 2.x single-tensor optimizer code transcribed line by line; the script also
// checked them against torch 1.13's own torch.optim classes (within 1e-6). Regenerate with the script below.
namespace FastRnn.Tests;

internal static class OptimizerPyTorchValues
{
    /// <summary>P = 19 parameters: p_i = (i - 9) / 8 + 1 / (i + 3), in double, rounded to float.</summary>
    public static float[] InitialParameters()
    {
        float[] p = new float[19];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = (float)(((i - 9) / 8.0) + (1.0 / (i + 3)));
        }

        return p;
    }

    /// <summary>The gradient of step t (1-based): g_i = ((7i + 3t) mod 11 - 5) / 4 + 1 / (i + t + 2), in double, rounded to float.</summary>
    public static float[] Gradient(int t)
    {
        float[] g = new float[19];
        for (int i = 0; i < g.Length; i++)
        {
            g[i] = (float)(((((7 * i) + (3 * t)) % 11) - 5) / 4.0 + (1.0 / (i + t + 2)));
        }

        return g;
    }

    /// <summary>Parameters after steps 1, 2, 3, by configuration name (see OptimizerCases).</summary>
    public static readonly Dictionary<string, float[][]> Expected = new()
    {
        ["SgdPlain"] =
        [
            [-0.77500004f, -0.9f, -0.72f, -0.525f, -0.5964286f, -0.3875f, -0.17500001f, -0.23500001f, -0.01818182f, 0.2f, 0.14423077f, 0.3642857f, 0.31f, 0.53125f, 0.7529412f, 0.70000005f, 0.9223684f, 1.145f, 1.0928572f],
            [-0.82500005f, -0.84499997f, -0.8366667f, -0.5392857f, -0.5089286f, -0.4736111f, -0.16000001f, -0.11909092f, -0.07651515f, 0.2423077f, 0.012087912f, 0.33261904f, 0.37875f, 0.42536765f, 0.7473856f, 0.7947369f, 0.8423684f, 1.165238f, 1.2133118f],
            [-0.94500005f, -0.8616666f, -0.7509524f, -0.6267857f, -0.4950397f, -0.35861108f, -0.21909092f, -0.07742426f, -0.20920748f, 0.21016483f, 0.08042125f, 0.22636904f, 0.37286764f, 0.5198121f, 0.6671225f, 0.8147369f, 0.9626065f, 1.1106926f, 1.258964f],
        ],
        ["SgdMomentum"] =
        [
            [-0.77420837f, -0.89925f, -0.719325f, -0.5244166f, -0.59594643f, -0.38712502f, -0.17473611f, -0.23485f, -0.018147727f, 0.19991666f, 0.14402884f, 0.3639643f, 0.30955833f, 0.5306875f, 0.75225735f, 0.6991945f, 0.9214408f, 1.14395f, 1.0916846f],
            [-0.8027991f, -0.98326564f, -0.8635701f, -0.4837768f, -0.6190833f, -0.4751891f, -0.080841355f, -0.20668545f, -0.056282528f, 0.34273866f, -0.02713416f, 0.37341887f, 0.25225723f, 0.4062845f, 0.80817074f, 0.6881034f, 0.84303975f, 1.2456897f, 1.12627f],
            [-0.93580824f, -1.0729948f, -0.9154706f, -0.52551556f, -0.6268493f, -0.45051908f, -0.049445134f, -0.14365135f, -0.20997627f, 0.4420414f, -0.119656436f, 0.2859669f, 0.19516508f, 0.37895617f, 0.7855286f, 0.6955021f, 0.8799344f, 1.2870435f, 1.1974703f],
        ],
        ["SgdNesterov"] =
        [
            [-0.75849587f, -1.0335749f, -0.7592175f, -0.47139165f, -0.6983697f, -0.3980375f, -0.09449862f, -0.311215f, -0.0037988666f, 0.30484164f, 0.091924034f, 0.40224642f, 0.19066082f, 0.50205624f, 0.8138478f, 0.6034695f, 0.91586906f, 1.2285049f, 1.0188435f],
            [-0.83791345f, -1.0480037f, -1.0153449f, -0.44991636f, -0.6229737f, -0.5707136f, 0.006394677f, -0.15912493f, -0.101711005f, 0.47907954f, -0.20621638f, 0.3757694f, 0.2139158f, 0.2741577f, 0.8571773f, 0.6961704f, 0.75711435f, 1.3407226f, 1.1802144f],
            [-1.0914799f, -1.1410952f, -0.9767565f, -0.5835509f, -0.6069233f, -0.42939594f, -0.028671285f, -0.04737313f, -0.3892575f, 0.5361094f, -0.22530629f, 0.17821316f, 0.16155896f, 0.34371856f, 0.7477777f, 0.73155844f, 0.9140733f, 1.3184261f, 1.3024528f],
        ],
        ["RmsProp"] =
        [
            [-0.6916667f, -0.85f, -0.775f, -0.48333335f, -0.58214283f, -0.4749999f, -0.1638889f, -0.25f, 0.06590903f, 0.18333334f, 0.10192309f, 0.42142856f, 0.34166667f, 0.46250004f, 0.7838235f, 0.7055556f, 0.8276317f, 1.15f, 1.0726191f],
            [-0.78658247f, -0.8154218f, -0.86836064f, -0.5072332f, -0.52115923f, -0.5739729f, -0.14716767f, -0.16921814f, -0.030600742f, 0.21757634f, 0.010203339f, 0.3618089f, 0.38813496f, 0.3665516f, 0.7757714f, 0.77253526f, 0.7278453f, 1.1709361f, 1.156124f],
            [-0.8782222f, -0.82589495f, -0.81160325f, -0.58993745f, -0.5114762f, -0.49407923f, -0.20236994f, -0.14120145f, -0.12168252f, 0.1922799f, 0.0532333f, 0.27227306f, 0.38414222f, 0.43176198f, 0.6997767f, 0.7866053f, 0.81117463f, 1.1216058f, 1.1864353f],
        ],
        ["RmsPropCenteredMomentum"] =
        [
            [-0.758334f, -0.78333324f, -0.7083331f, -0.5500002f, -0.5154761f, -0.4083324f, -0.23055568f, -0.1833332f, -0.0007582745f, 0.11666657f, 0.16858993f, 0.35476163f, 0.40833342f, 0.529167f, 0.7171567f, 0.77222234f, 0.89430004f, 1.0833331f, 1.1392859f],
            [-0.7722846f, -0.7882509f, -0.75742906f, -0.54106253f, -0.51215065f, -0.45850113f, -0.20790318f, -0.1739095f, -0.015551752f, 0.14559038f, 0.119947694f, 0.351757f, 0.4069019f, 0.4795206f, 0.73066646f, 0.7771067f, 0.84413356f, 1.1071209f, 1.1493555f],
            [-0.8106658f, -0.7942299f, -0.7630538f, -0.5637192f, -0.507062f, -0.45775464f, -0.21515931f, -0.15962641f, -0.054304343f, 0.15097463f, 0.11011449f, 0.32038018f, 0.40470833f, 0.4758335f, 0.7121741f, 0.78415084f, 0.8457458f, 1.1017866f, 1.1645063f],
        ],
        ["Adam"] =
        [
            [-0.7816667f, -0.76f, -0.685f, -0.5733333f, -0.49214286f, -0.385f, -0.2538889f, -0.16000001f, -0.024090912f, 0.093333334f, 0.19192307f, 0.33142856f, 0.43166667f, 0.5525f, 0.6938235f, 0.7955556f, 0.91763157f, 1.06f, 1.1626191f],
            [-0.7866086f, -0.7637278f, -0.6943536f, -0.5685961f, -0.49293706f, -0.39332634f, -0.246043f, -0.1579594f, -0.029508105f, 0.10217013f, 0.18242288f, 0.3323931f, 0.4291733f, 0.54346687f, 0.69990605f, 0.79554176f, 0.90976655f, 1.0681045f, 1.1651263f],
            [-0.7939934f, -0.7672572f, -0.6967031f, -0.5717938f, -0.49293408f, -0.39211348f, -0.24447674f, -0.15466475f, -0.037057303f, 0.107179284f, 0.17852451f, 0.32701597f, 0.4269944f, 0.54231614f, 0.698142f, 0.79642385f, 0.9117107f, 1.0704355f, 1.1689003f],
        ],
        ["AdamL2AmsGrad"] =
        [
            [-0.7816667f, -0.76f, -0.685f, -0.5733333f, -0.49214286f, -0.385f, -0.2538889f, -0.16000001f, -0.024090912f, 0.093333334f, 0.19192307f, 0.33142856f, 0.43166667f, 0.5525f, 0.6938235f, 0.7955556f, 0.91763157f, 1.06f, 1.1626191f],
            [-0.7852856f, -0.76259905f, -0.6944684f, -0.5681284f, -0.49187675f, -0.39345673f, -0.24621926f, -0.15723854f, -0.029951438f, 0.10191197f, 0.18220502f, 0.33094296f, 0.4293444f, 0.54308516f, 0.6984515f, 0.7953297f, 0.9088866f, 1.0671527f, 1.1645876f],
            [-0.7928093f, -0.76488495f, -0.69540614f, -0.5713628f, -0.49075902f, -0.39113587f, -0.24517676f, -0.15328118f, -0.038137674f, 0.10605515f, 0.1787272f, 0.32442045f, 0.42719072f, 0.5419441f, 0.69468313f, 0.7957639f, 0.9103938f, 1.0669255f, 1.1676285f],
        ],
        ["AdamLargeLerpWeight"] =
        [
            [-0.7816667f, -0.76f, -0.685f, -0.5733333f, -0.49214286f, -0.385f, -0.2538889f, -0.16000001f, -0.024090912f, 0.093333334f, 0.19192307f, 0.33142856f, 0.43166667f, 0.5525f, 0.6938235f, 0.7955556f, 0.91763157f, 1.06f, 1.1626191f],
            [-0.7907654f, -0.759305f, -0.69610965f, -0.57273704f, -0.48809305f, -0.3959614f, -0.24873081f, -0.15321092f, -0.033516135f, 0.10025122f, 0.1808439f, 0.32755858f, 0.43384188f, 0.54138553f, 0.6962694f, 0.80040675f, 0.9068402f, 1.0655947f, 1.169814f],
            [-0.8029365f, -0.760416f, -0.6923173f, -0.58269316f, -0.48543277f, -0.38859305f, -0.25422287f, -0.14740354f, -0.045710146f, 0.09934455f, 0.1826757f, 0.3162283f, 0.4340949f, 0.5464242f, 0.6874514f, 0.80389094f, 0.9148123f, 1.0610138f, 1.1760164f],
        ],
        ["AdamW"] =
        [
            [-0.780875f, -0.75925f, -0.68432504f, -0.57275f, -0.4916607f, -0.384625f, -0.253625f, -0.15985002f, -0.024056822f, 0.09325f, 0.19172114f, 0.33110714f, 0.431225f, 0.5519375f, 0.6931397f, 0.79475003f, 0.91670394f, 1.05895f, 1.1614465f],
            [-0.785036f, -0.76221853f, -0.6929943f, -0.56744003f, -0.49196327f, -0.3925667f, -0.24552548f, -0.15764956f, -0.029449958f, 0.101993546f, 0.18202923f, 0.3317406f, 0.4283004f, 0.54235244f, 0.69852906f, 0.79394144f, 0.9079222f, 1.0659956f, 1.1627922f],
            [-0.7916358f, -0.76498574f, -0.6946508f, -0.57007027f, -0.49146834f, -0.3909613f, -0.24371369f, -0.15419726f, -0.036969706f, 0.10690071f, 0.17794883f, 0.3260317f, 0.42569324f, 0.54065937f, 0.6960665f, 0.7940296f, 0.90895844f, 1.0672606f, 1.1654034f],
        ],
        ["AdamWAmsGrad"] =
        [
            [-0.77770835f, -0.75625f, -0.681625f, -0.5704167f, -0.48973215f, -0.383125f, -0.25256947f, -0.15925f, -0.023920458f, 0.09291667f, 0.19091345f, 0.3298214f, 0.42945835f, 0.5496875f, 0.6904044f, 0.7915278f, 0.91299343f, 1.05475f, 1.156756f],
            [-0.7792748f, -0.7556714f, -0.68779135f, -0.563319f, -0.48749807f, -0.38986674f, -0.24378364f, -0.15583697f, -0.029714173f, 0.10105603f, 0.18026012f, 0.32855874f, 0.4253732f, 0.5376441f, 0.69259214f, 0.7881405f, 0.90019655f, 1.0572786f, 1.1540498f],
            [-0.78343326f, -0.75494075f, -0.6860557f, -0.5646145f, -0.48453158f, -0.3860473f, -0.24191822f, -0.15125869f, -0.037767667f, 0.10479591f, 0.17605402f, 0.32071665f, 0.42156833f, 0.5344554f, 0.6864226f, 0.7856027f, 0.89828354f, 1.053426f, 1.1525456f],
        ],
    };

    /* The script (python3.11, torch 1.13, numpy):
    # The PyTorch 2.x single-tensor optimizer steps (torch/optim/{sgd,rmsprop,adam}.py, _single_tensor_*, foreach=False,
    # the CPU default), transcribed line by line and run with torch's float32 CPU kernels; cross-checked against the
    # installed torch.optim classes (torch 1.13, which differ only by lerp_ vs mul_/add_ in Adam and centered RMSprop).
    import math, torch
    P, STEPS = 19, 3
    def params(): return torch.tensor([(i - 9) / 8 + 1 / (i + 3) for i in range(P)], dtype=torch.float32)
    def grad(t): return torch.tensor([(((7 * i + 3 * t) % 11) - 5) / 4 + 1 / (i + t + 2) for i in range(P)], dtype=torch.float32)

    def sgd(p, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        buf = None
        for t in range(1, STEPS + 1):
            g = grad(t)
            if weight_decay != 0: g = g.add(p, alpha=weight_decay)
            if momentum != 0:
                if buf is None: buf = torch.clone(g).detach()
                else: buf.mul_(momentum).add_(g, alpha=1 - dampening)
                g = g.add(buf, alpha=momentum) if nesterov else buf
            p.add_(g, alpha=-lr)
            yield p

    def rmsprop(p, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        sq, ga, buf = torch.zeros(P), torch.zeros(P), torch.zeros(P)
        for t in range(1, STEPS + 1):
            g = grad(t)
            if weight_decay != 0: g = g.add(p, alpha=weight_decay)
            sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)
            if centered:
                ga.lerp_(g, 1 - alpha)
                avg = sq.addcmul(ga, ga, value=-1).sqrt_()
            else:
                avg = sq.sqrt()
            avg = avg.add_(eps)
            if momentum > 0:
                buf.mul_(momentum).addcdiv_(g, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(g, avg, value=-lr)
            yield p

    def adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
        beta1, beta2 = betas
        m, v, vmax = torch.zeros(P), torch.zeros(P), torch.zeros(P)
        step_t = torch.tensor(0.0)
        for t in range(1, STEPS + 1):
            g = grad(t)
            step_t += 1
            if weight_decay != 0:
                if decoupled: p.mul_(1 - lr * weight_decay)
                else: g = g.add(p, alpha=weight_decay)
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g.conj(), value=1 - beta2)
            step = step_t.item()
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = math.sqrt(bias_correction2)
            if amsgrad:
                torch.maximum(vmax, v, out=vmax)
                denom = (vmax.sqrt() / bias_correction2_sqrt).add_(eps)
            else:
                denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
            p.addcdiv_(m, denom, value=-step_size)
            yield p

    def installed(cls, **kw):
        p = torch.nn.Parameter(params())
        opt = cls([p], **kw)
        for t in range(1, STEPS + 1):
            p.grad = grad(t)
            opt.step()
            yield p.detach()

    cases = [
        ("SgdPlain", sgd, dict(lr=0.1), torch.optim.SGD),
        ("SgdMomentum", sgd, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), torch.optim.SGD),
        ("SgdNesterov", sgd, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), torch.optim.SGD),
        ("RmsProp", rmsprop, dict(lr=0.01), torch.optim.RMSprop),
        ("RmsPropCenteredMomentum", rmsprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.5, centered=True), torch.optim.RMSprop),
        ("Adam", adam, dict(lr=0.01), torch.optim.Adam),
        ("AdamL2AmsGrad", adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True), torch.optim.Adam),
        ("AdamLargeLerpWeight", adam, dict(lr=0.01, betas=(0.3, 0.9)), torch.optim.Adam),
        ("AdamW", adam, dict(lr=0.01, weight_decay=0.1, decoupled=True), torch.optim.AdamW),
        ("AdamWAmsGrad", adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.5, amsgrad=True, decoupled=True), torch.optim.AdamW),
    ]
    import numpy as np
    for name, fn, kw, cls in cases:
        mine = [x.clone() for x in fn(params(), **kw)]
        ref_kw = {k: v for k, v in kw.items() if k != "decoupled"}
        theirs = [x.clone() for x in installed(cls, **ref_kw)]
        for a, b in zip(mine, theirs):
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), (name, a - b)
        rows = ",\n".join("            [" + ", ".join(repr(np.float32(x)) + "f" for x in s.tolist()) + "]" for s in mine)
        print(f"        [\"{name}\"] =\n        [\n{rows},\n        ],")
    */
}
