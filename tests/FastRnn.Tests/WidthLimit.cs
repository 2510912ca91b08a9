using FastRnn.Kernels;

namespace FastRnn.Tests;

/// <summary>Runs the kernels on this thread at most at the given width, so every SIMD path is tested on one machine.</summary>
internal sealed class WidthLimit : IDisposable
{
    private readonly VectorWidth _previous;

    public WidthLimit(VectorWidth width)
    {
        _previous = VectorDispatch.Limit;
        VectorDispatch.Limit = width;
    }

    public void Dispose() => VectorDispatch.Limit = _previous;
}
