namespace FastRnn;

/// <summary>The elementwise function <c>f</c> of an Elman RNN, <c>h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)</c>.</summary>
/// <remarks>PyTorch's <c>nn.RNN</c> offers <see cref="Tanh"/> and <see cref="Relu"/>; the others are FastRnn additions.</remarks>
public enum Nonlinearity
{
    /// <summary><c>tanh(z)</c>, PyTorch's default.</summary>
    Tanh,

    /// <summary><c>1 / (1 + exp(-z))</c>.</summary>
    Sigmoid,

    /// <summary><c>max(z, 0)</c>; the derivative at 0 is 0, as in PyTorch.</summary>
    Relu,

    /// <summary><c>z</c> for <c>z &gt; 0</c>, else <c>slope * z</c> (slope &gt;= 0); the derivative at 0 is the slope, as in PyTorch.</summary>
    LeakyRelu,

    /// <summary><c>f(z) = z</c>. Not a useful model; it makes the data flow exactly checkable (oneDNN's test mode).</summary>
    Identity,
}
