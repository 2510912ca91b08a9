// Named optimizer configurations shared by the optimizer tests (the names of OptimizerPyTorchValues).
using FastRnn.Training;

namespace FastRnn.Tests;

internal static class OptimizerCases
{
    public static readonly string[] Names =
    [
        "SgdPlain", "SgdMomentum", "SgdNesterov", "RmsProp", "RmsPropCenteredMomentum",
        "Adam", "AdamL2AmsGrad", "AdamLargeLerpWeight", "AdamW", "AdamWAmsGrad",
    ];

    public static TheoryData<string> All => [.. Names];

    public static Optimizer Create(string name) => name switch
    {
        "SgdPlain" => new Sgd(0.1),
        "SgdMomentum" => new Sgd(0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        "SgdNesterov" => new Sgd(0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        "RmsProp" => new RmsProp(0.01),
        "RmsPropCenteredMomentum" => new RmsProp(0.01, alpha: 0.9, epsilon: 1e-6, weightDecay: 0.01, momentum: 0.5, centered: true),
        "Adam" => new Adam(0.01),
        "AdamL2AmsGrad" => new Adam(0.01, 0.8, 0.99, weightDecay: 0.1, amsgrad: true),
        "AdamLargeLerpWeight" => new Adam(0.01, 0.3, 0.9),
        "AdamW" => new AdamW(0.01, weightDecay: 0.1),
        "AdamWAmsGrad" => new AdamW(0.01, 0.8, 0.99, weightDecay: 0.5, amsgrad: true),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown case"),
    };
}
