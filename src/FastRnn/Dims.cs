namespace FastRnn;

/// <summary>
/// Up to three named dimensions of an expected tensor shape, e.g. <c>[T=3, B=2, I=4]</c>. A struct, so validation on hot
/// paths allocates nothing; the text is built only when an exception is thrown.
/// </summary>
internal readonly struct Dims(string name0, int size0, string? name1 = null, int size1 = 1, string? name2 = null, int size2 = 1)
{
    public long Product => (long)size0 * size1 * size2;

    public override string ToString()
        => name2 is not null ? $"[{name0}={size0}, {name1}={size1}, {name2}={size2}]"
        : name1 is not null ? $"[{name0}={size0}, {name1}={size1}]"
        : $"[{name0}={size0}]";
}
