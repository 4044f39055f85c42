using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Tensorium.Kernels.Cpu;

/// <summary>
/// 2-D convolution (groups = 1) and its two backward passes on the CPU, by im2col + GEMM.
/// Layouts: input and output NCHW, weight [OutC, InC, KH, KW], bias [OutC]. Every output
/// buffer is overwritten, never accumulated into.
/// </summary>
/// <remarks>
/// <para>
/// The idea: for one image, copy every input patch a filter looks at into a column of a matrix
/// ("im2col", shape [InC*KH*KW, OH*OW]). The convolution is then a single matrix product
/// output[OutC, OH*OW] = weight[OutC, InC*KH*KW] * col, which the fast GEMM does well.
/// The backward passes are the two other products of the same three matrices:
/// d col = weightᵀ * d output (then "col2im" adds each column back onto the pixels it came from),
/// and d weight = d output * colᵀ summed over images.
/// </para>
/// <para>
/// Small images (the usual CNN case) are processed a group at a time: the group's im2col
/// matrices are built in parallel, one image per thread (so col2im's scatter-add never crosses
/// threads), then one batched GEMM does the whole group. An image too large for the scratch
/// budget is processed alone, its matrix built a slab of columns at a time, with the threads
/// working inside the GEMM. Scratch comes from a per-thread buffer that is reused across calls.
/// </para>
/// </remarks>
public static unsafe class Conv2d
{
    /// <summary>Scratch budget for one im2col slab, in elements (1 MiB of float, 2 MiB of double).</summary>
    private const int SlabElements = 1 << 18;

    /// <summary>
    /// Scratch budget for the im2col matrices of a group of small images, in elements (8 MiB of
    /// float): a whole MNIST-sized batch fits, and the buffer is kept per thread, so not more.
    /// </summary>
    private const long GroupElements = 1 << 21;

    /// <summary>Forward pass: output = conv(input, weight) + bias. <paramref name="bias"/> may be null.</summary>
    public static void Forward(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output)
        => ForwardCore(g, input, weight, bias, output);

    /// <summary>Forward pass in double precision; see the float overload.</summary>
    public static void Forward(in Conv2dGeometry g, double* input, double* weight, double* bias, double* output)
        => ForwardCore(g, input, weight, bias, output);

    /// <summary>Gradient with respect to the input: gradInput = convᵀ(gradOutput, weight). Overwrites gradInput.</summary>
    public static void BackwardInput(in Conv2dGeometry g, float* gradOutput, float* weight, float* gradInput)
        => BackwardInputCore(g, gradOutput, weight, gradInput);

    /// <summary>Gradient with respect to the input in double precision; see the float overload.</summary>
    public static void BackwardInput(in Conv2dGeometry g, double* gradOutput, double* weight, double* gradInput)
        => BackwardInputCore(g, gradOutput, weight, gradInput);

    /// <summary>
    /// Gradients with respect to the weight and (when <paramref name="gradBias"/> is not null) the bias,
    /// summed over the batch. Both are overwritten. The sum over images is done in a fixed order,
    /// so the result is the same on every run with the same <see cref="CpuParallel.Threads"/>.
    /// </summary>
    public static void BackwardWeight(in Conv2dGeometry g, float* input, float* gradOutput, float* gradWeight, float* gradBias)
        => BackwardWeightCore(g, input, gradOutput, gradWeight, gradBias);

    /// <summary>Gradients with respect to the weight and bias in double precision; see the float overload.</summary>
    public static void BackwardWeight(in Conv2dGeometry g, double* input, double* gradOutput, double* gradWeight, double* gradBias)
        => BackwardWeightCore(g, input, gradOutput, gradWeight, gradBias);

    // ---------------------------------------------------------------- the three passes
    //
    // Two regimes, chosen by how big one image's im2col matrix is:
    //  * small images (the usual CNN case): build the matrices of a group of images at once, one
    //    image per thread, then hand the whole group to one batched (or one big) GEMM, which
    //    spreads the group over the threads itself. Parallelising only at one level avoids nested
    //    thread pools fighting over the same cores.
    //  * an image too big for the scratch budget: one image at a time, its matrix built in slabs
    //    of columns, and the parallelism comes from inside each (large) GEMM.

    private static void ForwardCore<T>(Conv2dGeometry g, T* input, T* weight, T* bias, T* output)
        where T : unmanaged, INumber<T>
    {
        g.Validate();
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        long inImage = (long)g.InChannels * g.InHeight * g.InWidth, outImage = (long)outC * p, colImage = (long)k * p;

        if (g.IsPointwise)
        {
            // A 1x1 stride-1 filter reads each pixel once: the image [InC, H*W] already is "col".
            MatMulBatched(g.Batch, false, false, outC, p, k, weight, k, 0, input, p, inImage, y: output, ldc: p, strideC: outImage);
        }
        else if (colImage <= GroupElements)
        {
            int group = (int)Math.Min(g.Batch, GroupElements / colImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0);
                T* col = ThreadScratch<T>.Get(count * colImage);
                T* x = input + n0 * inImage;
                CpuParallel.For(count, i => Im2Col(g, x + i * inImage, col + i * colImage, 0, p, p), colImage);
                MatMulBatched(count, false, false, outC, p, k, weight, k, 0, col, p, colImage, y: output + n0 * outImage, ldc: p, strideC: outImage);
            }
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch<T>.Get((long)k * slab);
            for (int n = 0; n < g.Batch; n++)
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    Im2Col(g, input + n * inImage, col, p0, cols, cols);
                    // Columns p0..p0+cols of this image's output: ldc = p skips the other columns.
                    MatMul(false, false, outC, cols, k, weight, k, col, cols, false, output + n * outImage + p0, p);
                }
        }

        if (bias != null)
            CpuParallel.For(g.Batch, n =>
            {
                for (int oc = 0; oc < outC; oc++)
                {
                    T* plane = output + n * outImage + (long)oc * p;
                    T value = bias[oc];
                    int i = 0;
                    if (Vector256.IsHardwareAccelerated)
                        for (var v = Vector256.Create(value); i <= p - Vector256<T>.Count; i += Vector256<T>.Count)
                            (Vector256.Load(plane + i) + v).Store(plane + i);
                    for (; i < p; i++) plane[i] += value;
                }
            }, outImage);
    }

    private static void BackwardInputCore<T>(Conv2dGeometry g, T* gradOutput, T* weight, T* gradInput)
        where T : unmanaged, INumber<T>
    {
        g.Validate();
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels;
        int inImage = g.InChannels * g.InHeight * g.InWidth;
        long outImage = (long)outC * p, colImage = (long)k * p;

        if (g.IsPointwise)
        {
            // dx[InC, H*W] = weightᵀ[InC, OutC] * dy[OutC, H*W], written directly.
            MatMulBatched(g.Batch, true, false, k, p, outC, weight, k, 0, gradOutput, p, outImage, y: gradInput, ldc: p, strideC: inImage);
        }
        else if (colImage <= GroupElements)
        {
            int group = (int)Math.Min(g.Batch, GroupElements / colImage);
            for (int n0 = 0; n0 < g.Batch; n0 += group)
            {
                int count = Math.Min(group, g.Batch - n0);
                T* col = ThreadScratch<T>.Get(count * colImage);
                // d col[K, P] = weightᵀ[K, OutC] * dy[OutC, P] for every image of the group
                MatMulBatched(count, true, false, k, p, outC, weight, k, 0, gradOutput + n0 * outImage, p, outImage, y: col, ldc: p, strideC: colImage);
                T* dx = gradInput + (long)n0 * inImage;
                CpuParallel.For(count, i =>
                {
                    // col2im adds, and stride/padding may leave pixels no filter touched: start from zero.
                    new Span<T>(dx + (long)i * inImage, inImage).Clear();
                    Col2ImAdd(g, col + i * colImage, dx + (long)i * inImage, 0, p, p);
                }, colImage);
            }
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch<T>.Get((long)k * slab);
            for (int n = 0; n < g.Batch; n++)
            {
                T* dx = gradInput + (long)n * inImage;
                new Span<T>(dx, inImage).Clear();
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    MatMul(true, false, k, cols, outC, weight, k, gradOutput + n * outImage + p0, p, false, col, cols);
                    Col2ImAdd(g, col, dx, p0, cols, cols);
                }
            }
        }
    }

    private static void BackwardWeightCore<T>(Conv2dGeometry g, T* input, T* gradOutput, T* gradWeight, T* gradBias)
        where T : unmanaged, INumber<T>
    {
        g.Validate();
        int k = g.ColumnRows, p = g.OutPlane, outC = g.OutChannels, batch = g.Batch;
        long inImage = (long)g.InChannels * g.InHeight * g.InWidth, outImage = (long)outC * p;
        long perImage = (long)k * p + outImage; // this image's columns of col and of dy

        // d weight[OutC, K] = sum over images of dy[OutC, P] * colᵀ[P, K]. Laying a group of images
        // side by side, col as [K, group*P] and dy as [OutC, group*P], turns that sum into the
        // inner dimension of ONE GEMM: no per-thread partial sums, and the GEMM's fixed summation
        // order makes the result deterministic. Groups accumulate into gradWeight in order.
        if (perImage <= GroupElements)
        {
            int group = (int)Math.Min(batch, GroupElements / perImage);
            bool accumulate = false;
            for (int n0 = 0; n0 < batch; n0 += group)
            {
                int count = Math.Min(group, batch - n0);
                int width = count * p; // columns of the side-by-side matrices
                T* col = ThreadScratch<T>.Get((long)k * width + (long)outC * width);
                T* dyWide = col + (long)k * width;
                CpuParallel.For(count, i =>
                {
                    int n = n0 + i;
                    if (g.IsPointwise)
                        for (int r = 0; r < k; r++) // 1x1: col rows are the input channels
                            new ReadOnlySpan<T>(input + n * inImage + (long)r * p, p).CopyTo(new Span<T>(col + (long)r * width + i * p, p));
                    else
                        Im2Col(g, input + n * inImage, col + i * p, 0, p, width);
                    for (int oc = 0; oc < outC; oc++)
                        new ReadOnlySpan<T>(gradOutput + n * outImage + (long)oc * p, p).CopyTo(new Span<T>(dyWide + (long)oc * width + i * p, p));
                }, perImage);
                MatMul(false, true, outC, k, width, dyWide, width, col, width, accumulate, gradWeight, k);
                accumulate = true;
            }
        }
        else
        {
            int slab = SlabColumns(k, p);
            T* col = ThreadScratch<T>.Get((long)k * slab);
            bool accumulate = false;
            for (int n = 0; n < batch; n++)
                for (int p0 = 0; p0 < p; p0 += slab)
                {
                    int cols = Math.Min(slab, p - p0);
                    Im2Col(g, input + n * inImage, col, p0, cols, cols);
                    // dw[OutC, K] += dy[OutC, p0..p0+cols] * colᵀ[cols, K]
                    MatMul(false, true, outC, k, cols, gradOutput + n * outImage + p0, p, col, cols, accumulate, gradWeight, k);
                    accumulate = true;
                }
        }

        if (gradBias != null)
        {
            // d bias[oc] = sum over images and pixels of d output[n, oc]; one channel per task.
            CpuParallel.For(outC, oc =>
            {
                T sum = T.Zero;
                for (int n = 0; n < batch; n++)
                    sum += TensorPrimitives.Sum(new ReadOnlySpan<T>(gradOutput + n * outImage + (long)oc * p, p));
                gradBias[oc] = sum;
            }, workPerItem: (long)batch * p);
        }
    }

    // ---------------------------------------------------------------- im2col / col2im

    /// <summary>
    /// Writes columns [p0, p0 + cols) of one image's im2col matrix into <paramref name="col"/>
    /// ([ColumnRows, cols], row-major, rows <paramref name="ld"/> elements apart). Row r = (c*KH + kh)*KW + kw holds, for every output pixel
    /// (oh, ow), the input value that filter tap (c, kh, kw) multiplies, or 0 where that falls in
    /// the padding.
    /// </summary>
    private static void Im2Col<T>(in Conv2dGeometry g, T* image, T* col, int p0, int cols, int ld)
        where T : unmanaged, INumber<T>
    {
        int h = g.InHeight, w = g.InWidth, ow = g.OutWidth, sw = g.StrideW;
        T* dst = col;
        for (int c = 0; c < g.InChannels; c++)
        {
            T* plane = image + (long)c * h * w;
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++)
                {
                    int iwOffset = kw * g.DilationW - g.PadW; // input column of output column 0
                    ValidColumns(iwOffset, sw, w, ow, out int validLo, out int validHi);
                    // Walk the slab one output row at a time (a slab may start or end mid-row).
                    int pos = p0, end = p0 + cols;
                    while (pos < end)
                    {
                        int oh = pos / ow, owStart = pos - oh * ow, owEnd = Math.Min(ow, owStart + (end - pos));
                        T* seg = dst + (pos - p0) - owStart; // seg[x] is the value for output column x
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        int lo = Math.Max(owStart, validLo), hi = Math.Min(owEnd, validHi);
                        if ((uint)ih >= (uint)h || lo >= hi)
                        {
                            Zero(seg + owStart, owEnd - owStart); // row of padding
                        }
                        else
                        {
                            Zero(seg + owStart, lo - owStart);
                            T* src = plane + (long)ih * w + iwOffset;
                            if (sw == 1)
                                Copy(src + lo, seg + lo, hi - lo);
                            else
                                for (int x = lo; x < hi; x++) seg[x] = src[x * sw];
                            Zero(seg + hi, owEnd - hi);
                        }
                        pos += owEnd - owStart;
                    }
                    dst += ld;
                }
        }
    }

    /// <summary>
    /// The reverse of <see cref="Im2Col{T}"/>: adds every entry of columns [p0, p0 + cols) of a
    /// column-gradient matrix onto the input pixel it was copied from; padding entries are dropped.
    /// Overlapping filter windows make several entries land on one pixel, hence "add".
    /// </summary>
    private static void Col2ImAdd<T>(in Conv2dGeometry g, T* col, T* image, int p0, int cols, int ld)
        where T : unmanaged, INumber<T>
    {
        int h = g.InHeight, w = g.InWidth, ow = g.OutWidth, sw = g.StrideW;
        T* srcRow = col;
        for (int c = 0; c < g.InChannels; c++)
        {
            T* plane = image + (long)c * h * w;
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++)
                {
                    int iwOffset = kw * g.DilationW - g.PadW;
                    ValidColumns(iwOffset, sw, w, ow, out int validLo, out int validHi);
                    int pos = p0, end = p0 + cols;
                    while (pos < end)
                    {
                        int oh = pos / ow, owStart = pos - oh * ow, owEnd = Math.Min(ow, owStart + (end - pos));
                        T* seg = srcRow + (pos - p0) - owStart;
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        int lo = Math.Max(owStart, validLo), hi = Math.Min(owEnd, validHi);
                        if ((uint)ih < (uint)h && lo < hi)
                        {
                            T* dst = plane + (long)ih * w + iwOffset;
                            if (sw == 1)
                                AddTo(seg + lo, dst + lo, hi - lo);
                            else
                                for (int x = lo; x < hi; x++) dst[x * sw] += seg[x];
                        }
                        pos += owEnd - owStart;
                    }
                    srcRow += ld;
                }
        }
    }

    // Row segments in im2col/col2im are often short (a 13x13 image gives 11-element rows), so
    // these inline loops beat a library call whose fixed cost would dominate.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) Vector256.Load(src + i).Store(dst + i);
        for (; i < count; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        for (; i < count; i++) dst[i] += src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero<T>(T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - Vector256<T>.Count; i += Vector256<T>.Count) Vector256<T>.Zero.Store(dst + i);
        for (; i < count; i++) dst[i] = T.Zero;
    }

    /// <summary>
    /// Output columns [lo, hi) whose input column <c>x*stride + offset</c> lies inside [0, width);
    /// the others read padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValidColumns(int offset, int stride, int width, int outWidth, out int lo, out int hi)
    {
        lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int last = width - 1 - offset; // largest x*stride allowed
        hi = last < 0 ? 0 : Math.Min(outWidth, last / stride + 1);
    }

    /// <summary>
    /// How many im2col columns to build at once: all of them when they fit the scratch budget,
    /// otherwise a slab sized to the budget, but never so thin that the GEMM loses its efficiency.
    /// </summary>
    private static int SlabColumns(int rows, int columns)
        => Math.Clamp(SlabElements / rows, Math.Min(columns, 256), columns);

    /// <summary>
    /// For each of <paramref name="batch"/> matrices: y_i = op(A_i) * op(B_i), overwritten. A stride
    /// of 0 shares one matrix (the weight) across the batch. The GEMM decides whether to spread
    /// the batch or the inside of each product over the threads.
    /// </summary>
    private static void MatMulBatched<T>(int batch, bool transA, bool transB, int m, int n, int k,
        T* a, int lda, long strideA, T* b, int ldb, long strideB, T* y, int ldc, long strideC) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Gemm.SgemmBatched(batch, transA, transB, m, n, k, 1f, (float*)a, lda, strideA, (float*)b, ldb, strideB, 0f, (float*)y, ldc, strideC);
        else if (typeof(T) == typeof(double))
            Gemm.DgemmBatched(batch, transA, transB, m, n, k, 1.0, (double*)a, lda, strideA, (double*)b, ldb, strideB, 0.0, (double*)y, ldc, strideC);
        else
            throw new NotSupportedException($"conv2d: element type {typeof(T).Name} is not supported (float or double).");
    }

    /// <summary>
    /// C = op(A) * op(B) (+ C when <paramref name="accumulate"/>), dispatched to the float or double
    /// GEMM. The type test is a JIT-time constant for each T, so the unused branch disappears.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MatMul<T>(bool transA, bool transB, int m, int n, int k, T* a, int lda, T* b, int ldb,
        bool accumulate, T* c, int ldc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Gemm.Sgemm(transA, transB, m, n, k, 1f, (float*)a, lda, (float*)b, ldb, accumulate ? 1f : 0f, (float*)c, ldc);
        else if (typeof(T) == typeof(double))
            Gemm.Dgemm(transA, transB, m, n, k, 1.0, (double*)a, lda, (double*)b, ldb, accumulate ? 1.0 : 0.0, (double*)c, ldc);
        else
            throw new NotSupportedException($"conv2d: element type {typeof(T).Name} is not supported (float or double).");
    }
}

/// <summary>
/// One growable, pinned scratch array per thread and element type, reused across kernel calls so
/// the hot path allocates nothing. Pinned (on the pinned object heap) so a raw pointer into it stays
/// valid. A caller must finish with the buffer before it asks again on the same thread.
/// </summary>
internal static unsafe class ThreadScratch<T> where T : unmanaged
{
    [ThreadStatic] private static T[]? _buffer;

    /// <summary>Pointer to at least <paramref name="length"/> elements of uninitialised scratch.</summary>
    public static T* Get(long length)
    {
        T[]? buffer = _buffer;
        if (buffer == null || buffer.Length < length)
        {
            // Grow by half again so that slowly growing requests do not reallocate every call.
            if (length > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(length), length, "Kernel scratch buffer larger than the largest array.");
            long size = Math.Min(Array.MaxLength, Math.Max(length, buffer == null ? 0 : buffer.Length + buffer.Length / 2L));
            buffer = GC.AllocateUninitializedArray<T>((int)size, pinned: true);
            _buffer = buffer;
        }
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
    }
}
