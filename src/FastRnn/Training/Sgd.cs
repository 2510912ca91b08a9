using System.Numerics.Tensors;

namespace FastRnn.Training;

/// <summary>Plain stochastic gradient descent: <c>p -= learningRate * g</c> over a flat parameter buffer.</summary>
public sealed class Sgd
{
    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">Step size, finite and &gt;= 0.</param>
    public Sgd(float learningRate)
    {
        LearningRate = learningRate;
    }

    /// <summary>Step size.</summary>
    public float LearningRate
    {
        get;
        set
        {
            if (!(value >= 0f) || float.IsInfinity(value))
            {
                ThrowHelper.ThrowOutOfRange(nameof(LearningRate), $"must be finite and >= 0, was {value}");
            }

            field = value;
        }
    }

    /// <summary>Updates every parameter of <paramref name="store"/> from its gradient.</summary>
    /// <param name="store">Parameters and gradients.</param>
    public void Step(ParameterStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        Step(store.Values, store.Gradients);
    }

    /// <summary><c>values -= learningRate * gradients</c>.</summary>
    /// <param name="values">Parameters, updated in place.</param>
    /// <param name="gradients">Gradients, same length.</param>
    public void Step(Span<float> values, ReadOnlySpan<float> gradients)
    {
        ThrowHelper.ThrowIfLengthMismatch(gradients, nameof(gradients), new Dims("values", values.Length));
        TensorPrimitives.MultiplyAdd(gradients, -LearningRate, values, values);
    }
}
