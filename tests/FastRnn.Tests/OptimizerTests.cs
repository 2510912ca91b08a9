// Optimizers against PyTorch's float32 results, against the double reference, and their state, validation and binding.
using FastRnn.Testing;
using FastRnn.Training;
using FsCheck.Xunit;
using static FastRnn.Tests.RnnHarness;

namespace FastRnn.Tests;

public class OptimizerTests
{
    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void First_three_steps_equal_pytorch_bitwise(string name)
    {
        Optimizer optimizer = OptimizerCases.Create(name);
        float[] p = OptimizerPyTorchValues.InitialParameters();
        float[][] expected = OptimizerPyTorchValues.Expected[name];
        for (int t = 1; t <= 3; t++)
        {
            optimizer.Step(p, OptimizerPyTorchValues.Gradient(t));
            for (int i = 0; i < p.Length; i++)
            {
                // Same operations, same rounding, same fused multiply-adds as torch's CPU kernels: equal to the bit.
                Assert.True(
                    BitConverter.SingleToInt32Bits(p[i]) == BitConverter.SingleToInt32Bits(expected[t - 1][i]),
                    $"{name} step {t} [{i}]: {p[i]:R} vs PyTorch {expected[t - 1][i]:R}");
            }
        }

        Assert.Equal(3, optimizer.StepCount);
    }

    [Fact]
    public void Sgd_steps_match_hand_computed_values()
    {
        // p = 1, g = 0.5, lr = 0.1, momentum 0.9, dampening 0, weight decay 0.1:
        // step 1: g' = 0.5 + 0.1 = 0.6, buf = 0.6, p = 1 - 0.06 = 0.94
        // step 2: g' = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134 = 0.8266
        var sgd = new Sgd(0.1, momentum: 0.9, weightDecay: 0.1);
        float[] p = [1f];
        sgd.Step(p, [0.5f]);
        Assert.Equal(0.94, p[0], 1e-6);
        sgd.Step(p, [0.5f]);
        Assert.Equal(0.8266, p[0], 1e-6);
        Assert.Equal(1.134, sgd.State[0].Values.Span[0], 1e-6);
    }

    [Fact]
    public void Adam_first_step_moves_each_parameter_by_the_learning_rate()
    {
        // Step 1 with bias correction: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps) = lr * sign(g).
        var adam = new Adam(0.01);
        float[] p = [1f, 1f, 1f];
        adam.Step(p, [3f, -0.25f, 0f]);
        Assert.Equal(0.99, p[0], 1e-6);
        Assert.Equal(1.01, p[1], 1e-6);
        Assert.Equal(1f, p[2]);
    }

    [Property(MaxTest = 300)]
    public void Optimizers_match_the_double_reference(int seed)
    {
        var random = new Random(seed);
        int n = random.Next(0, 70);
        ReferenceCase c = RandomCase(random, n);
        double scale = random.Next(3) switch { 0 => 1e-3, 1 => 1, _ => 50 };
        float[] p = RandomFloats(random, n, 1);
        double[] reference = Array.ConvertAll(p, v => (double)v);
        for (int t = 1; t <= 3; t++)
        {
            // A schedule: the third step runs at half the learning rate.
            double lr = t == 3 ? c.Fast.LearningRate * 0.5 : c.Fast.LearningRate;
            c.Fast.LearningRate = lr;
            float[] g = RandomFloats(random, n, scale);
            c.Fast.Step(p, g);
            c.Step(reference, Array.ConvertAll(g, v => (double)v), t, lr);
            AssertClose(p, reference, $"{c.Text} p after step {t}", relative: 1e-5, absolute: 1e-6);
        }

        Assert.Equal(c.State.Count, c.Fast.State.Count);
        foreach (OptimizerStateBuffer buffer in c.Fast.State)
        {
            AssertClose(buffer.Values.Span, c.State[buffer.Name], $"{c.Text} {buffer.Name}", relative: 1e-5, absolute: 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void An_element_s_update_does_not_depend_on_its_position(string name)
    {
        // 45 equal elements run through the vector body and the scalar tail; one element runs through the tail only.
        Optimizer many = OptimizerCases.Create(name), one = OptimizerCases.Create(name);
        float[] p = Enumerable.Repeat(0.3f, 45).ToArray(), single = [0.3f];
        for (int t = 1; t <= 3; t++)
        {
            float g = 0.7f - (0.45f * t);
            many.Step(p, Enumerable.Repeat(g, 45).ToArray());
            one.Step(single, [g]);
        }

        Assert.All(p, v => Assert.Equal(BitConverter.SingleToInt32Bits(single[0]), BitConverter.SingleToInt32Bits(v)));
    }

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void A_restored_optimizer_continues_bitwise_identically(string name)
    {
        var random = new Random(name.Length);
        const int n = 37;
        float[][] gradients = Enumerable.Range(0, 8).Select(_ => RandomFloats(random, n, 1)).ToArray();
        float[] p = RandomFloats(random, n, 1);
        Optimizer original = OptimizerCases.Create(name);
        for (int t = 0; t < 4; t++)
        {
            original.Step(p, gradients[t]);
        }

        // Save as a checkpoint would: step count and copies of the named buffers, in reverse order (order must not matter).
        long steps = original.StepCount;
        OptimizerStateBuffer[] saved = original.State.Reverse().Select(b => new OptimizerStateBuffer(b.Name, b.Values.ToArray())).ToArray();
        float[] restoredP = (float[])p.Clone();
        Optimizer restored = OptimizerCases.Create(name);
        restored.LoadState(steps, saved);
        Assert.Equal(saved.Length == 0 ? null : n, restored.ParameterCount); // no buffers (plain SGD): nothing to bind to

        for (int t = 4; t < 8; t++)
        {
            original.Step(p, gradients[t]);
            restored.Step(restoredP, gradients[t]);
        }

        Assert.Equal(original.StepCount, restored.StepCount);
        Assert.Equal(p, restoredP);
        for (int i = 0; i < original.State.Count; i++)
        {
            Assert.Equal(original.State[i].Name, restored.State[i].Name);
            Assert.Equal(original.State[i].Values.ToArray(), restored.State[i].Values.ToArray());
        }
    }

    [Fact]
    public void State_names_follow_the_configuration()
    {
        Assert.Empty(new Sgd(0.1).StateNames);
        Assert.Equal(["momentum_buffer"], new Sgd(0.1, momentum: 0.5).StateNames);
        Assert.Equal(["square_avg"], new RmsProp().StateNames);
        Assert.Equal(["square_avg", "momentum_buffer", "grad_avg"], new RmsProp(momentum: 0.9, centered: true).StateNames);
        Assert.Equal(["exp_avg", "exp_avg_sq"], new Adam().StateNames);
        Assert.Equal(["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], new AdamW(amsgrad: true).StateNames);

        var adam = new Adam();
        Assert.Null(adam.ParameterCount);
        Assert.Empty(adam.State);
        adam.AllocateState(5);
        Assert.Equal(5, adam.ParameterCount);
        Assert.Equal(["exp_avg", "exp_avg_sq"], adam.State.Select(b => b.Name));
        Assert.All(adam.State, b => Assert.Equal(5, b.Values.Length));
    }

    [Fact]
    public void Reset_state_restarts_from_step_one()
    {
        float[] g = [0.5f, -1f, 2f];
        var fresh = new Adam(0.1);
        var reused = new Adam(0.1);
        float[] a = [1f, 2f, 3f], b = [1f, 2f, 3f];
        reused.Step(b, [9f, 9f, 9f]);
        reused.ResetState();
        Assert.Equal(0, reused.StepCount);
        b = [1f, 2f, 3f];
        fresh.Step(a, g);
        reused.Step(b, g);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Changing_the_learning_rate_takes_effect_on_the_next_step()
    {
        var sgd = new Sgd(0.1);
        float[] p = [1f];
        sgd.Step(p, [1f]);
        sgd.LearningRate = 0.5;
        sgd.Step(p, [1f]);
        Assert.Equal(1f - 0.1f - 0.5f, p[0], 1e-6f);
    }

    [Fact]
    public void Step_on_a_store_updates_its_values_from_its_gradients()
    {
        var store = new ParameterStore();
        ParameterTensor w = store.Add("w", 2, 3);
        store.Values.Fill(1f);
        store.Gradients.Fill(2f);
        new Sgd(0.25).Step(store);
        Assert.All(w.Values.ToArray(), v => Assert.Equal(0.5f, v));
        Assert.All(store.Gradients.ToArray(), v => Assert.Equal(2f, v));
    }

    [Fact]
    public void Hyperparameters_out_of_range_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1, momentum: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1, weightDecay: -1));
        Assert.Throws<ArgumentException>(() => new Sgd(0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd(0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(alpha: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(epsilon: -1e-8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(momentum: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(-1e-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(weightDecay: -0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(beta2: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(weightDecay: double.PositiveInfinity));

        var adam = new Adam(0.01);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = -1);
        Assert.Equal(0.01, adam.LearningRate);
    }

    [Fact]
    public void Bad_spans_throw_before_anything_is_written()
    {
        var adam = new Adam(0.1);
        float[] p = [1f, 2f, 3f];
        ArgumentException e = Assert.Throws<ArgumentException>(() => adam.Step(p, [1f, 1f]));
        Assert.Equal("gradients", e.ParamName);
        Assert.Contains("expected 3 elements", e.Message, StringComparison.Ordinal);
        Assert.Equal([1f, 2f, 3f], p);
        Assert.Equal(0, adam.StepCount);
        Assert.Null(adam.ParameterCount);

        // Gradients overlapping the values.
        float[] both = [1f, 2f, 3f, 4f];
        Assert.Throws<ArgumentException>(() => adam.Step(both.AsSpan(0, 2), both.AsSpan(1, 2)));

        // Bound to 3 parameters by its first step; another length throws.
        adam.Step(p, [1f, 1f, 1f]);
        float[] afterOne = (float[])p.Clone();
        float[] other = [1f, 2f];
        Assert.Throws<ArgumentException>(() => adam.Step(other, [1f, 1f]));
        Assert.Equal([1f, 2f], other);
        Assert.Equal(afterOne, p);
        Assert.Equal(1, adam.StepCount);
        Assert.Throws<ArgumentException>(() => adam.AllocateState(4));
    }

    [Fact]
    public void Load_state_validates_everything_before_writing()
    {
        var adam = new Adam(0.1, amsgrad: true);
        float[] p = [1f, 2f, 3f];
        adam.Step(p, [1f, -1f, 0.5f]);
        float[][] before = adam.State.Select(b => b.Values.ToArray()).ToArray();
        float[] three = [7f, 7f, 7f];

        void Rejects(long steps, params OptimizerStateBuffer[] buffers)
        {
            Assert.ThrowsAny<ArgumentException>(() => adam.LoadState(steps, buffers));
            Assert.Equal(1, adam.StepCount);
            for (int i = 0; i < before.Length; i++)
            {
                Assert.Equal(before[i], adam.State[i].Values.ToArray());
            }
        }

        Rejects(5, new("exp_avg", three), new("exp_avg_sq", three));                                          // missing max_exp_avg_sq
        Rejects(5, new("exp_avg", three), new("exp_avg_sq", three), new("max_exp_avg_sq", three), new("momentum_buffer", three)); // unknown
        Rejects(5, new("exp_avg", three), new("exp_avg", three), new("max_exp_avg_sq", three));                // repeated
        Rejects(5, new("exp_avg", three), new("exp_avg_sq", new float[2]), new("max_exp_avg_sq", three));      // unequal lengths
        Rejects(5, new("exp_avg", new float[4]), new("exp_avg_sq", new float[4]), new("max_exp_avg_sq", new float[4])); // not P = 3
        Rejects(-1, new("exp_avg", three), new("exp_avg_sq", three), new("max_exp_avg_sq", three));            // negative step
        Rejects(5);                                                                                              // steps without state

        // A fresh state (step 0, no buffers) is accepted and clears the buffers.
        adam.LoadState(0, []);
        Assert.Equal(0, adam.StepCount);
        Assert.All(adam.State, b => Assert.All(b.Values.ToArray(), v => Assert.Equal(0f, v)));
    }

    /// <summary>A random optimizer with its double-reference twin.</summary>
    private sealed record ReferenceCase(Optimizer Fast, Action<double[], double[], long, double> Step, Dictionary<string, double[]> State, string Text);

    private static ReferenceCase RandomCase(Random random, int n)
    {
        double lr = 0.001 + (0.2 * random.NextDouble());
        double wd = random.Next(2) == 0 ? 0 : 0.1 * random.NextDouble();
        double eps = random.Next(2) == 0 ? 1e-8 : 1e-3;
        switch (random.Next(4))
        {
            case 0:
            {
                double momentum = random.Next(3) == 0 ? 0 : random.NextDouble();
                bool nesterov = momentum > 0 && random.Next(2) == 0;
                double dampening = nesterov || random.Next(2) == 0 ? 0 : 0.5 * random.NextDouble();
                double[] buffer = new double[n];
                return new(
                    new Sgd(lr, momentum, dampening, nesterov, wd),
                    (p, g, t, rate) => ReferenceOptimizers.Sgd(p, g, buffer, t, rate, momentum, dampening, nesterov, wd),
                    momentum != 0 ? new() { ["momentum_buffer"] = buffer } : [],
                    $"SGD(lr {lr}, momentum {momentum}, dampening {dampening}, nesterov {nesterov}, wd {wd}, P {n})");
            }

            case 1:
            {
                // alpha >= 0.5: with alpha near 0 the centered variance v - m^2 is pure rounding error (NaN in PyTorch too).
                double alpha = 0.5 + (0.499 * random.NextDouble());
                double momentum = random.Next(2) == 0 ? 0 : 0.9 * random.NextDouble();
                bool centered = random.Next(2) == 0;
                double[] square = new double[n], buffer = new double[n], average = new double[n];
                var state = new Dictionary<string, double[]> { ["square_avg"] = square };
                if (momentum > 0)
                {
                    state["momentum_buffer"] = buffer;
                }

                if (centered)
                {
                    state["grad_avg"] = average;
                }

                return new(
                    new RmsProp(lr, alpha, eps, wd, momentum, centered),
                    (p, g, t, rate) => ReferenceOptimizers.RmsProp(p, g, square, buffer, average, rate, alpha, eps, wd, momentum, centered),
                    state,
                    $"RMSprop(lr {lr}, alpha {alpha}, eps {eps}, wd {wd}, momentum {momentum}, centered {centered}, P {n})");
            }

            default:
            {
                bool decoupled = random.Next(2) == 0, amsgrad = random.Next(2) == 0;
                double beta1 = 0.95 * random.NextDouble(), beta2 = 0.5 + (0.4999 * random.NextDouble());
                double[] m = new double[n], v = new double[n], vMax = new double[n];
                var state = new Dictionary<string, double[]> { ["exp_avg"] = m, ["exp_avg_sq"] = v };
                if (amsgrad)
                {
                    state["max_exp_avg_sq"] = vMax;
                }

                Optimizer fast = decoupled ? new AdamW(lr, beta1, beta2, eps, wd, amsgrad) : new Adam(lr, beta1, beta2, eps, wd, amsgrad);
                return new(
                    fast,
                    (p, g, t, rate) => ReferenceOptimizers.Adam(p, g, m, v, vMax, t, rate, beta1, beta2, eps, wd, amsgrad, decoupled),
                    state,
                    $"{(decoupled ? "AdamW" : "Adam")}(lr {lr}, betas ({beta1}, {beta2}), eps {eps}, wd {wd}, amsgrad {amsgrad}, P {n})");
            }
        }
    }

    private static float[] RandomFloats(Random random, int n, double scale)
    {
        float[] values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)(scale * ((2 * random.NextDouble()) - 1));
        }

        return values;
    }
}
