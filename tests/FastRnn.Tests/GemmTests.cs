// Legend: M rows of C, N columns of C, K reduction length.
// Integer-valued data keeps every product and sum exact in float, so the kernels must match the reference exactly.
using FastRnn.Kernels;

namespace FastRnn.Tests;

public class GemmTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void Multiply_matches_reference_for_all_small_shapes_and_transposes(int floatsPerVector)
    {
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(1);
        foreach (MatrixOp opA in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
        {
            foreach (MatrixOp opB in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
            {
                for (int m = 0; m <= 11; m++)
                {
                    for (int n = 0; n <= 11; n++)
                    {
                        foreach (int k in (int[])[0, 1, 2, 3, 5, 8, 11])
                        {
                            foreach (float beta in (float[])[0f, 1f, 0.5f])
                            {
                                CheckMultiply(random, opA, opB, m, n, k, beta, packed: false);
                            }
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void Multiply_matches_reference_across_block_boundaries(int floatsPerVector)
    {
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(2);
        // K crosses KC = 256 and N crosses NC = 512 and the 32-wide panels; M crosses the 4- and 8-row blocks and the
        // A blocks of MC = 128 rows (with a last micro-panel of 1..7 rows); (136, 33, 7800) with A transposed is large
        // enough for A to be packed (k * lda >= 1M floats, lda = 137 > MC).
        foreach ((int m, int n, int k) in (ReadOnlySpan<(int, int, int)>)[(17, 33, 257), (5, 530, 7), (33, 65, 300), (1, 1, 600), (64, 128, 64), (1, 530, 37), (1, 128, 300), (9, 260, 19), (141, 70, 300), (130, 33, 9), (263, 530, 260), (255, 3, 40), (136, 33, 7800)])
        {
            foreach (MatrixOp opA in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
            {
                foreach (MatrixOp opB in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
                {
                    CheckMultiply(random, opA, opB, m, n, k, beta: 1f, packed: false);
                    CheckMultiply(random, opA, MatrixOp.None, m, n, k, beta: 0f, packed: true);
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void MultiplyPacked_matches_reference(int floatsPerVector)
    {
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(3);
        foreach (MatrixOp opA in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
        {
            foreach (MatrixOp opB in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
            {
                for (int m = 0; m <= 9; m++)
                {
                    foreach (int n in (int[])[1, 7, 16, 31, 32, 33, 70, 128, 161])
                    {
                        foreach (int k in (int[])[0, 1, 4, 13])
                        {
                            CheckMultiply(random, opA, opB, m, n, k, beta: 0f, packed: true);
                            CheckMultiply(random, opA, opB, m, n, k, beta: 1f, packed: true);
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void Packing_A_does_not_change_a_bit(int floatsPerVector)
    {
        // Multiply packs a transposed A into 8-row micro-panels when it is large (k * lda >= 1M floats) and strided
        // (lda > min(M, 128)); MultiplyPacked reads A in place. With K in one KC block both run one FMA chain per
        // element in the same order, so on arbitrary floats they must agree exactly, packed (the first two cases,
        // transposed) or not.
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(5);
        foreach ((int m, int n, int k, int ldaExtra) in (ReadOnlySpan<(int, int, int, int)>)[(141, 70, 256, 4000), (300, 33, 200, 5000), (9, 40, 17, 3), (16, 64, 1, 3)])
        {
            foreach (MatrixOp opA in (MatrixOp[])[MatrixOp.None, MatrixOp.Transpose])
            {
                foreach (float beta in (float[])[0f, 1f])
                {
                    int lda = (opA == MatrixOp.None ? k : m) + ldaExtra;
                    float[] a = RandomFloats(random, (opA == MatrixOp.None ? m : k) * lda);
                    float[] b = RandomFloats(random, k * n);
                    float[] c0 = RandomFloats(random, m * n);
                    float[] inPlace = (float[])c0.Clone(), packedA = (float[])c0.Clone();
                    float[] panel = new float[Gemm.PackedLength(k, n)];
                    Gemm.PackB(MatrixOp.None, k, n, b, n, panel);
                    Gemm.MultiplyPacked(opA, m, n, k, a, lda, panel, beta, inPlace, n);
                    Gemm.Multiply(opA, MatrixOp.None, m, n, k, a, lda, b, n, beta, packedA, n, new float[Gemm.ScratchLength]);
                    for (int i = 0; i < inPlace.Length; i++)
                    {
                        if (BitConverter.SingleToInt32Bits(inPlace[i]) != BitConverter.SingleToInt32Bits(packedA[i]))
                        {
                            Assert.Fail($"op(A)={opA} M={m} N={n} K={k} beta={beta} width={VectorDispatch.Current}: element {i} is {packedA[i]} with A packed, {inPlace[i]} in place");
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void Every_element_is_one_fused_chain_per_K_block_wherever_its_tile_falls(int floatsPerVector)
    {
        // Determinism rests on this: with arbitrary floats, each C element must be exactly the k-ascending FMA chain
        // (per KC block for Multiply, over all K for MultiplyPacked), added to beta * C with one FMA, whether its
        // tile is 8, 4 or 1 rows, a full 32-wide panel, a half-panel tail or part of a four-panel single-row group,
        // and a single row multiplied by B as stored, or a transposed A packed once for two products, must give the packed
        // product's bits. The last three shapes pack B past 1 MiB (each half, for the transposed A), so the kernels that
        // ask for the next panel in L2 run too, as do weights packed in KC blocks (the per-step input projection and dX).
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(6);
        foreach ((int m, int n, int k) in (ReadOnlySpan<(int, int, int)>)[(1, 100, 400), (1, 400, 100), (1, 300, 100), (1, 176, 70), (1, 44, 33), (1, 65, 37), (1, 161, 9), (1, 16, 3), (1, 200, 5), (1, 33, 5), (1, 70, 3), (1, 136, 7), (3, 17, 300), (5, 100, 13), (9, 65, 260), (13, 400, 65), (25, 65, 400), (8, 48, 5), (137, 40, 200), (9, 520, 520), (21, 1030, 260), (16, 2080, 256)])
        {
            // 0.3 is inexact, so a product of beta and C rounded before the add would show.
            foreach (float beta in (float[])[0f, 0.3f, 1f])
            {
                float[] a = RandomFloats(random, m * k);
                float[] b = RandomFloats(random, k * n);
                float[] c0 = RandomFloats(random, m * n);
                float[] blocked = (float[])c0.Clone(), packed = (float[])c0.Clone();
                Gemm.Multiply(MatrixOp.None, MatrixOp.None, m, n, k, a, k, b, n, beta, blocked, n, new float[Gemm.ScratchLength]);
                float[] panel = new float[Gemm.PackedLength(k, n)];
                Gemm.PackB(MatrixOp.None, k, n, b, n, panel);
                Gemm.MultiplyPacked(MatrixOp.None, m, n, k, a, k, panel, beta, packed, n);
                float[] kBlocks = (float[])c0.Clone();
                if (beta == 0f)
                {
                    float[] blockPanels = new float[Gemm.PackedLength(k, n)];
                    Gemm.PackBlocks(MatrixOp.None, k, 0, n, b, n, blockPanels);
                    Gemm.MultiplyPackedBlocks(m, n, k, a, k, blockPanels, kBlocks, n);
                }

                // One row against B as stored (strided, so no load may stray into the gaps' columns).
                float[] inPlace = (float[])c0.Clone();
                if (m == 1 && Gemm.MultipliesRowInPlace(n))
                {
                    float[] strided = new float[k * (n + 3)];
                    for (int p = 0; p < k; p++)
                    {
                        Array.Copy(b, p * n, strided, p * (n + 3), n);
                        strided.AsSpan((p * (n + 3)) + n, 3).Fill(float.NaN);
                    }

                    Gemm.MultiplyRowInPlace(n, k, a, strided, n + 3, beta, inPlace);
                }

                // A stored transposed (dGates^T for dW: element (i, p) at p * lda + i, NaN in the gaps); one K block.
                float[] prepackedA = (float[])c0.Clone();
                bool oneKBlock = k <= Gemm.KC;
                if (oneKBlock)
                {
                    int lda = m + 5;
                    float[] aT = new float[k * lda];
                    Array.Fill(aT, float.NaN);
                    for (int i = 0; i < m; i++)
                    {
                        for (int p = 0; p < k; p++)
                        {
                            aT[(p * lda) + i] = a[(i * k) + p];
                        }
                    }

                    // Packed once per MC rows and read by two products, one per half of the columns (the dW_ih and
                    // dW_hh parts of a dGates^T block), each half packed from B on its own; the left half is told its
                    // panels stream (a group's slots past L2), so from 8 rows on it asks for its next panels at any size.
                    float[] packedA = new float[Gemm.PackedALength];
                    int n1 = n / 2;
                    float[] left = new float[Gemm.PackedLength(k, n1)], right = new float[Gemm.PackedLength(k, n - n1)];
                    Gemm.PackColumns(MatrixOp.None, k, 0, n1, b, n, left);
                    Gemm.PackColumns(MatrixOp.None, k, n1, n - n1, b, n, right);
                    for (int ic = 0; ic < m; ic += Gemm.MC)
                    {
                        int mc = Math.Min(Gemm.MC, m - ic);
                        packedA.AsSpan().Fill(float.NaN);
                        Gemm.PackTransposedA(mc, k, aT.AsSpan(ic), lda, packedA);
                        Gemm.MultiplyPrepackedTransposedA(mc, n1, k, aT.AsSpan(ic), lda, packedA, left, beta, prepackedA.AsSpan(ic * n), n, weightsStream: true);
                        Gemm.MultiplyPrepackedTransposedA(mc, n - n1, k, aT.AsSpan(ic), lda, packedA, right, beta, prepackedA.AsSpan((ic * n) + n1), n);
                    }
                }

                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        float expectedBlocked = c0[(i * n) + j], expectedPacked = expectedBlocked;
                        for (int pc = 0; pc < k; pc += Gemm.KC)
                        {
                            float chain = Chain(a, b, i, j, n, k, pc, Math.Min(k, pc + Gemm.KC));
                            float scale = pc == 0 ? beta : 1f;
                            expectedBlocked = scale == 0f ? chain : float.MultiplyAddEstimate(scale, expectedBlocked, chain);
                        }

                        float whole = Chain(a, b, i, j, n, k, 0, k);
                        expectedPacked = beta == 0f ? whole : float.MultiplyAddEstimate(beta, expectedPacked, whole);
                        AssertSameBits(expectedBlocked, blocked[(i * n) + j], $"Multiply M={m} N={n} K={k} beta={beta} width={VectorDispatch.Current}: C[{i},{j}]");
                        AssertSameBits(expectedPacked, packed[(i * n) + j], $"MultiplyPacked M={m} N={n} K={k} beta={beta} width={VectorDispatch.Current}: C[{i},{j}]");
                        if (beta == 0f)
                        {
                            AssertSameBits(expectedBlocked, kBlocks[(i * n) + j], $"MultiplyPackedBlocks M={m} N={n} K={k} width={VectorDispatch.Current}: C[{i},{j}]");
                        }

                        if (oneKBlock)
                        {
                            AssertSameBits(expectedPacked, prepackedA[(i * n) + j], $"MultiplyPrepackedTransposedA M={m} N={n} K={k} beta={beta} width={VectorDispatch.Current}: C[{i},{j}]");
                        }

                        if (m == 1 && Gemm.MultipliesRowInPlace(n))
                        {
                            AssertSameBits(expectedPacked, inPlace[j], $"MultiplyRowInPlace N={n} K={k} beta={beta} width={VectorDispatch.Current}: c[{j}]");
                        }
                    }
                }
            }
        }

        static float Chain(float[] a, float[] b, int i, int j, int n, int k, int from, int to)
        {
            float sum = 0f;
            for (int p = from; p < to; p++)
            {
                sum = float.MultiplyAddEstimate(a[(i * k) + p], b[(p * n) + j], sum);
            }

            return sum;
        }

        static void AssertSameBits(float expected, float actual, string where)
        {
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual))
            {
                Assert.Fail($"{where} = {actual}, the chain gives {expected}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void A_pair_of_products_is_the_one_product_over_both_Ks(int floatsPerVector)
    {
        // The fused forward step (x_t W_ih^T + h_{t-1} W_hh^T) must give every element the chain of one product over
        // the concatenated K: A = [A1 | A2], B = [B1; B2], whatever its tile (8, 4, 1 rows; full panel, half-panel tail;
        // rows across an MC block), with K1 past KC (no K blocks), and with C and the strided rows' gaps holding NaN, which
        // a read would carry into the result.
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(9);
        foreach ((int m, int n, int k1, int k2) in (ReadOnlySpan<(int, int, int, int)>)[(1, 100, 65, 100), (1, 33, 3, 5), (3, 17, 1, 1), (8, 48, 5, 7), (13, 400, 65, 100), (16, 512, 64, 128), (17, 65, 300, 40), (33, 256, 128, 256), (137, 40, 20, 9)])
        {
            int k = k1 + k2, lda1 = k1 + 3, lda2 = k2 + 5;
            float[] a = RandomFloats(random, m * k), b = RandomFloats(random, k * n);
            float[] a1 = new float[m * lda1], a2 = new float[m * lda2];
            Array.Fill(a1, float.NaN);
            Array.Fill(a2, float.NaN);
            for (int i = 0; i < m; i++)
            {
                Array.Copy(a, i * k, a1, i * lda1, k1);
                Array.Copy(a, (i * k) + k1, a2, i * lda2, k2);
            }

            float[] packed = new float[Gemm.PackedLength(k, n)], packed1 = new float[Gemm.PackedLength(k1, n)], packed2 = new float[Gemm.PackedLength(k2, n)];
            Gemm.PackB(MatrixOp.None, k, n, b, n, packed);
            Gemm.PackB(MatrixOp.None, k1, n, b, n, packed1);
            Gemm.PackB(MatrixOp.None, k2, n, b.AsSpan(k1 * n), n, packed2);

            float[] whole = new float[m * n], pair = new float[m * n];
            Array.Fill(pair, float.NaN);
            Gemm.MultiplyPacked(MatrixOp.None, m, n, k, a, k, packed, 0f, whole, n);
            Gemm.MultiplyPackedPair(m, n, k1, a1, lda1, packed1, k2, a2, lda2, packed2, pair, n);
            for (int i = 0; i < m * n; i++)
            {
                if (BitConverter.SingleToInt32Bits(whole[i]) != BitConverter.SingleToInt32Bits(pair[i]))
                {
                    Assert.Fail($"M={m} N={n} K={k1}+{k2} width={VectorDispatch.Current}: C[{i / n},{i % n}] = {pair[i]} from the pair, {whole[i]} from one product");
                }
            }

            // Against the definition, not only against the other path.
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double expected = 0;
                    for (int p = 0; p < k; p++)
                    {
                        expected += (double)a[(i * k) + p] * b[(p * n) + j];
                    }

                    Assert.True(Math.Abs(pair[(i * n) + j] - expected) <= 1e-5 * k, $"M={m} N={n} K={k1}+{k2}: C[{i},{j}] = {pair[(i * n) + j]}, expected {expected}");
                }
            }
        }
    }

    [Theory]
    [InlineData(6)]
    [InlineData(8)]
    public void Register_blocks_cover_the_rows_with_at_most_mr_and_at_least_4_rows_each(int mr)
    {
        // The split decides how many FMA chains each kernel call has: it must tile every row once, never exceed the
        // registers (mr), and leave a block of fewer than 4 rows (under 8 accumulators) only where it cannot be
        // helped: fewer than 4 rows in all, or (mr = 6) a rest of 7, split 4 + 3.
        for (int m = 1; m <= 300; m++)
        {
            var blocks = new List<int>();
            for (int r = 0; r < m;)
            {
                int rows = Gemm.RegisterBlockRows(m - r, mr);
                Assert.InRange(rows, 1, mr);
                blocks.Add(rows);
                r += rows;
            }

            Assert.Equal(m, blocks.Sum());
            int small = blocks.Count(rows => rows < 4);
            Assert.True(m < 4 ? small == 1 : small <= 1 && (small == 0 || blocks[^1] == 3), $"m = {m}, mr = {mr}: blocks {string.Join(" + ", blocks)}");
            Assert.True(blocks.Count(rows => rows < mr) <= 2, $"m = {m}, mr = {mr}: blocks {string.Join(" + ", blocks)}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    public void MultiplyPacked_matches_reference_for_every_batch_up_to_70_rows(int floatsPerVector)
    {
        // The recurrent step's M is the batch: every split into register blocks (6 + 6 + 4 for 16 rows, 6 * 10 + 4 for
        // 64, 4 + 3 for 7) and a column tail of one vector and of more.
        using var _ = new WidthLimit((VectorWidth)floatsPerVector);
        var random = new Random(4);
        for (int m = 1; m <= 70; m++)
        {
            foreach (int n in (int[])[12, 40])
            {
                CheckMultiply(random, MatrixOp.None, MatrixOp.Transpose, m, n, 9, beta: 1f, packed: true);
            }
        }
    }

    [Fact]
    public void Strided_operands_leave_the_gaps_untouched()
    {
        // A [3, 4] in a stride of 6, B^T stored [5, 4] in a stride of 7, C [3, 5] in a stride of 9.
        var random = new Random(4);
        float[] a = RandomIntegers(random, 2 * 6 + 4);
        float[] b = RandomIntegers(random, 4 * 7 + 4);
        float[] c = new float[2 * 9 + 5];
        Array.Fill(c, 42f);
        Gemm.Multiply(MatrixOp.None, MatrixOp.Transpose, 3, 5, 4, a, 6, b, 7, 0f, c, 9);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 9 && (i * 9) + j < c.Length; j++)
            {
                if (j >= 5)
                {
                    Assert.Equal(42f, c[(i * 9) + j]);
                    continue;
                }

                double expected = 0;
                for (int p = 0; p < 4; p++)
                {
                    expected += a[(i * 6) + p] * b[(j * 7) + p];
                }

                Assert.Equal((float)expected, c[(i * 9) + j]);
            }
        }
    }

    [Fact]
    public void Too_short_operands_throw_before_writing()
    {
        float[] c = [7f, 7f, 7f, 7f];
        var error = Assert.Throws<ArgumentException>(() => Gemm.Multiply(MatrixOp.None, MatrixOp.None, 2, 2, 3, new float[5], 3, new float[6], 2, 0f, c, 2));
        Assert.Equal("a", error.ParamName);
        Assert.Contains("expected at least 6", error.Message, StringComparison.Ordinal);
        Assert.All(c, value => Assert.Equal(7f, value));

        error = Assert.Throws<ArgumentException>(() => Gemm.Multiply(MatrixOp.None, MatrixOp.None, 2, 2, 3, new float[6], 2, new float[6], 2, 0f, c, 2));
        Assert.Equal("lda", error.ParamName);

        error = Assert.Throws<ArgumentException>(() => Gemm.MultiplyPacked(MatrixOp.None, 2, 2, 3, new float[6], 3, new float[3], 0f, c, 2));
        Assert.Equal("packedB", error.ParamName);
    }

    private static void CheckMultiply(Random random, MatrixOp opA, MatrixOp opB, int m, int n, int k, float beta, bool packed)
    {
        int lda = (opA == MatrixOp.None ? k : m) + 1;
        int ldb = (opB == MatrixOp.None ? n : k) + 2;
        int ldc = n + 3;
        int aRows = opA == MatrixOp.None ? m : k;
        int bRows = opB == MatrixOp.None ? k : n;
        float[] a = RandomIntegers(random, Math.Max(0, aRows * lda));
        float[] b = RandomIntegers(random, Math.Max(0, bRows * ldb));
        float[] c = RandomIntegers(random, m * ldc);
        float[] original = (float[])c.Clone();
        if (beta == 0f)
        {
            // beta = 0 must not read C: NaN there must not leak into the result.
            for (int i = 0; i < m; i++)
            {
                Array.Fill(c, float.NaN, i * ldc, n);
            }
        }

        if (packed)
        {
            float[] panel = new float[Gemm.PackedLength(k, n)];
            Array.Fill(panel, float.NaN);
            Gemm.PackB(opB, k, n, b, ldb, panel);
            Gemm.MultiplyPacked(opA, m, n, k, a, lda, panel, beta, c, ldc);
        }
        else
        {
            Gemm.Multiply(opA, opB, m, n, k, a, lda, b, ldb, beta, c, ldc, new float[Gemm.ScratchLength]);
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < ldc; j++)
            {
                float actual = c[(i * ldc) + j];
                if (j >= n)
                {
                    Assert.Equal(original[(i * ldc) + j], actual);
                    continue;
                }

                double expected = beta * (double)original[(i * ldc) + j];
                for (int p = 0; p < k; p++)
                {
                    double x = opA == MatrixOp.None ? a[(i * lda) + p] : a[(p * lda) + i];
                    double y = opB == MatrixOp.None ? b[(p * ldb) + j] : b[(j * ldb) + p];
                    expected += x * y;
                }

                if ((float)expected != actual)
                {
                    Assert.Fail($"{(packed ? "packed " : string.Empty)}op(A)={opA} op(B)={opB} M={m} N={n} K={k} beta={beta} width={VectorDispatch.Current}: C[{i},{j}] = {actual}, expected {expected}");
                }
            }
        }
    }

    private static float[] RandomFloats(Random random, int count)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (random.NextSingle() * 2f) - 1f;
        }

        return values;
    }

    private static float[] RandomIntegers(Random random, int count)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = random.Next(-3, 4);
        }

        return values;
    }
}
