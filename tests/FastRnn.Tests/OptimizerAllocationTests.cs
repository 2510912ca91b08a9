// Optimizer steps and clipping allocate nothing once the optimizer's state exists.
using FastRnn.Training;

namespace FastRnn.Tests;

[Collection(nameof(AllocationTests))]
public class OptimizerAllocationTests
{
    private const int P = 1001;

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void Steps_after_the_first_allocate_nothing(string name)
    {
        var random = new Random(1);
        float[] p = AllocationTests.RandomValues(random, P), g = AllocationTests.RandomValues(random, P);
        Optimizer optimizer = OptimizerCases.Create(name);
        AllocationTests.AssertNoAllocation(() => optimizer.Step(p, g));
    }

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void With_preallocated_state_even_the_first_step_allocates_nothing(string name)
    {
        var random = new Random(2);
        float[] p = AllocationTests.RandomValues(random, P), g = AllocationTests.RandomValues(random, P);
        Optimizer optimizer = OptimizerCases.Create(name);
        optimizer.AllocateState(P);
        // Each measured call is a first step: ResetState keeps the allocated buffers.
        AllocationTests.AssertNoAllocation(() =>
        {
            optimizer.ResetState();
            optimizer.Step(p, g);
        });
    }

    [Fact]
    public void Clipping_allocates_nothing()
    {
        var store = new ParameterStore();
        store.Add("w", 31, 33);
        AllocationTests.RandomValues(new Random(3), store.Length).CopyTo(store.Gradients);
        AllocationTests.AssertNoAllocation(() =>
        {
            GradientClipping.ClipByGlobalNorm(store, 0.5f);
            GradientClipping.ClipByValue(store, 0.01f);
            GradientClipping.ClipByGlobalNorm(store.Gradients, float.PositiveInfinity, errorIfNonfinite: true);
        });
    }
}
