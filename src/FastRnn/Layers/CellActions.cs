// The two things a layer does with its cell, as actions its cell type is handed to: each layer states once which
// cell struct it runs (ElmanLayer chooses by nonlinearity), and the JIT specializes the driver for it.
using FastRnn.Cells;

namespace FastRnn.Layers;

/// <summary>Something to run with a concrete cell type.</summary>
internal interface ICellAction
{
    void Run<TCell>(TCell cell)
        where TCell : struct, IRecurrentCell;
}

/// <summary>A forward pass through <see cref="SequenceDriver.Forward"/>.</summary>
internal ref struct ForwardAction : ICellAction
{
    public RecurrentWorkspace Workspace;
    public bool Reverse;
    public LayerWeights Weights;
    public ReadOnlySpan<float> Input;
    public int T;
    public int B;
    public Span<float> Output;
    public SequenceStates States;

    public readonly void Run<TCell>(TCell cell)
        where TCell : struct, IRecurrentCell
        => SequenceDriver.Forward(cell, Workspace, Reverse, Weights, Input, T, B, Output, States);
}

/// <summary>A backward pass through <see cref="SequenceDriver.Backward"/>.</summary>
internal ref struct BackwardAction : ICellAction
{
    public RecurrentWorkspace Workspace;
    public bool Reverse;
    public LayerWeights Weights;
    public SequenceGradients Gradients;
    public WeightGradients WeightGradients;

    public readonly void Run<TCell>(TCell cell)
        where TCell : struct, IRecurrentCell
        => SequenceDriver.Backward(cell, Workspace, Reverse, Weights, Gradients, WeightGradients);
}
