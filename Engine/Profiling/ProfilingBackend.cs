using System.Collections.Concurrent;
using System.Diagnostics;
using Tensorium.Kernels.Ops;

namespace Tensorium.Profiling;

/// <summary>
/// A backend that times each op of the device's own backend and hands a <see cref="ProfiledOp"/>
/// to the open profilers. <c>Device.Backend</c> gives it out only while a <see cref="Profiler"/>
/// is open, so this is the one place ops are measured, whoever calls them (an autograd op,
/// a backward function, Tensor's own methods, an optimizer).
/// </summary>
/// <remarks>
/// Each member names its op, says its FLOPs (a multiply-add counts two: MatMul 2·batch·m·n·k,
/// convolutions 2·N·Cout·Hout·Wout·Cin·Kh·Kw in each direction, attention as dense; elementwise
/// work about one per output element) and lists the tensors it reads and writes, whose sizes
/// add up to its bytes.
/// </remarks>
internal sealed class ProfilingBackend(Device device, IBackend backend) : IBackend
{
    private static readonly ConcurrentDictionary<Device, ProfilingBackend> ForDevice = new();

    /// <summary>The profiling wrapper of <paramref name="device"/>'s backend (one per device, made on first use).</summary>
    public static ProfilingBackend For(Device device, IBackend own) =>
        ForDevice.TryGetValue(device, out var wrapped) ? wrapped : ForDevice.GetOrAdd(device, d => new ProfilingBackend(d, own));

    private readonly bool _synchronize = device.Kind != DeviceKind.Cpu;

    public BufferPool Pool => backend.Pool;

    /// <summary>Waits for the device (earlier queued work is not this op's), then starts the clock.</summary>
    private long Begin()
    {
        if (_synchronize) device.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Waits for the device (so the op's own work is done), then reads the clock.</summary>
    /// <remarks>
    /// Called as End's second argument, so the clock stops before the arguments after it are
    /// evaluated: the op's name is formatted there, and the first format of each enum (UnaryOp,
    /// BinaryOp, ...) looks its names up by reflection, which cost about a millisecond and was
    /// counted as the first call of each op (a third of the MLP's op time over 20 profiled steps).
    /// </remarks>
    private long Stop()
    {
        if (_synchronize) device.Synchronize();
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Records the op that ran from <paramref name="start"/> to <paramref name="stop"/> (see <see cref="Stop"/>).</summary>
    /// <remarks>
    /// The bytes are those of the inputs and outputs (plus <paramref name="extraBytes"/>), unless
    /// <paramref name="bytes"/> says otherwise: an indexing op touches only the rows it selects,
    /// not the whole table it reads from or adds into (an embedding lookup of 64 rows from a
    /// 30000-row table would otherwise count as reading all of it).
    /// </remarks>
    private void End(long start, long stop, string name, double flops, ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> outputs, long extraBytes = 0,
        Storage? uploaded = null, long? bytes = null)
    {
        var duration = Stopwatch.GetElapsedTime(start, stop);
        long summed = extraBytes;
        var shapes = new List<string>(inputs.Length);
        DType? dtype = uploaded?.DType;
        if (uploaded != null) shapes.Add($"[{uploaded.Count}]");
        foreach (var t in inputs)
            if (t != null)
            {
                summed += BytesOf(t);
                shapes.Add(Layout.Format(t.Layout.Shape));
                dtype ??= t.DType;
            }
        foreach (var t in outputs)
            if (t != null)
            {
                summed += BytesOf(t);
                if (inputs.Length == 0) shapes.Add(Layout.Format(t.Layout.Shape));
                dtype ??= t.DType;
            }
        var phase = Profiler.InBackward ? ProfilePhase.Backward : ProfilePhase.Forward;
        Profiler.Record(new ProfiledOp(name, phase, string.Join(" x ", shapes), dtype ?? DType.Float32, device,
            TimeSpan.Zero, duration, flops, bytes ?? summed, Profiler.ThreadTrack), start);
    }

    /// <summary>
    /// The bytes <paramref name="t"/>'s elements occupy: only the distinct elements its view
    /// touches, so a broadcast input (stride 0 along the expanded dims, e.g. the bias of
    /// x + b) counts once, as it is read from memory, not once per output element.
    /// </summary>
    private static long BytesOf(Tensor t)
    {
        if (t.Count == 0) return 0;
        var layout = t.Layout;
        long distinct = 1;
        for (int d = 0; d < layout.Rank; d++)
            if (layout.Strides[d] != 0) distinct *= layout.Shape[d];
        return distinct * t.DType.SizeInBytes();
    }

    /// <summary><paramref name="times"/> passes over <paramref name="t"/>'s elements (e.g. 2: read them from a table, write them out).</summary>
    private static long Touched(Tensor t, int times) => times * t.Count * t.DType.SizeInBytes();

    public void Upload(Storage dst, ReadOnlySpan<byte> src)
    {
        long start = Begin();
        backend.Upload(dst, src);
        End(start, Stop(), "Upload", 0, [], [], 2L * src.Length, uploaded: dst);
    }

    public void Download(Tensor src, Span<byte> dst)
    {
        long start = Begin();
        backend.Download(src, dst);
        End(start, Stop(), "Download", 0, [src], [], dst.Length);
    }

    public void Copy(Tensor src, Tensor dst)
    {
        long start = Begin();
        backend.Copy(src, dst);
        End(start, Stop(), "Copy", 0, [src], [dst]);
    }

    public void Fill(Tensor dst, double value)
    {
        long start = Begin();
        backend.Fill(dst, value);
        End(start, Stop(), "Fill", 0, [], [dst]);
    }

    public void Arange(Tensor dst, double start, double step)
    {
        long clock = Begin();
        backend.Arange(dst, start, step);
        End(clock, Stop(), "Arange", dst.Count, [], [dst]);
    }

    public void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        long start = Begin();
        backend.Random(dst, kind, seed, offset, a, b);
        End(start, Stop(), $"Random.{kind}", dst.Count, [], [dst]);
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        long start = Begin();
        backend.Unary(op, x, y, p0, p1);
        End(start, Stop(), $"Unary.{op}", y.Count, [x], [y]);
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        long start = Begin();
        backend.Binary(op, a, b, y);
        End(start, Stop(), $"Binary.{op}", y.Count, [a, b], [y]);
    }

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        long start = Begin();
        backend.Where(cond, a, b, y);
        End(start, Stop(), "Where", 0, [cond, a, b], [y]);
    }

    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction)
    {
        long start = Begin();
        backend.ReduceRows(op, x, y, rows, cols, correction);
        End(start, Stop(), $"ReduceRows.{op}", x.Count, [x], [y]);
    }

    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols)
    {
        long start = Begin();
        backend.ArgReduceRows(max, x, y, rows, cols);
        End(start, Stop(), max ? "ArgMax" : "ArgMin", x.Count, [x], [y]);
    }

    public void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols)
    {
        long start = Begin();
        backend.ReduceColumns(op, x, y, rows, cols);
        End(start, Stop(), $"ReduceColumns.{op}", x.Count, [x], [y]);
    }

    public void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k)
    {
        long start = Begin();
        backend.MatMul(a, transA, strideA, b, transB, strideB, y, batch, m, n, k);
        End(start, Stop(), "MatMul", 2.0 * batch * m * n * k, [a, b], [y]);
    }

    /// <summary>A convolution's multiply-adds, the same in the forward pass and in both backward passes.</summary>
    private static double ConvFlops(Conv2dGeometry g) => 2.0 * g.Batch * g.OutImage * g.ColumnRows;

    public void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        long start = Begin();
        backend.Conv2d(g, input, weight, bias, output);
        End(start, Stop(), "Conv2d", ConvFlops(g), [input, weight, bias], [output]);
    }

    public void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput)
    {
        long start = Begin();
        backend.Conv2dBackwardInput(g, gradOutput, weight, gradInput);
        End(start, Stop(), "Conv2dBackwardInput", ConvFlops(g), [gradOutput, weight], [gradInput]);
    }

    public void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias)
    {
        long start = Begin();
        backend.Conv2dBackwardWeight(g, input, gradOutput, gradWeight, gradBias);
        End(start, Stop(), "Conv2dBackwardWeight", ConvFlops(g), [input, gradOutput], [gradWeight, gradBias]);
    }

    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax)
    {
        long start = Begin();
        backend.MaxPool2d(g, input, output, argmax);
        End(start, Stop(), "MaxPool2d", (double)output.Count * g.KernelHeight * g.KernelWidth, [input], [output, argmax]);
    }

    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput)
    {
        long start = Begin();
        backend.MaxPool2dBackward(g, gradOutput, argmax, gradInput);
        End(start, Stop(), "MaxPool2dBackward", gradOutput.Count, [gradOutput, argmax], [gradInput]);
    }

    /// <summary>About 8 operations per element: the two row passes (sum, squared deviation) and the normalise-scale-shift.</summary>
    public void LayerNorm(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd)
    {
        long start = Begin();
        backend.LayerNorm(g, x, weight, bias, y, mean, rstd);
        End(start, Stop(), "LayerNorm", 8.0 * g.Rows * g.Cols, [x, weight, bias], [y, mean, rstd]);
    }

    /// <summary>About 12 operations per element: recomputing x̂, the two row sums, dx, and the column sums.</summary>
    public void LayerNormBackward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias)
    {
        long start = Begin();
        backend.LayerNormBackward(g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias);
        End(start, Stop(), "LayerNormBackward", 12.0 * g.Rows * g.Cols, [x, weight, mean, rstd, gradY], [gradX, gradWeight, gradBias]);
    }

    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols)
    {
        long start = Begin();
        backend.Softmax(log, x, y, rows, cols);
        End(start, Stop(), log ? "LogSoftmax" : "Softmax", y.Count, [x], [y]);
    }

    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols)
    {
        long start = Begin();
        backend.SoftmaxBackward(log, y, gradY, gradX, rows, cols);
        End(start, Stop(), log ? "LogSoftmaxBackward" : "SoftmaxBackward", gradX.Count, [y, gradY], [gradX]);
    }

    public void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        long start = Begin();
        backend.CrossEntropy(logits, labels, loss, logSumExp, rows, classes, ignoreIndex, labelSmoothing);
        End(start, Stop(), "CrossEntropy", logits.Count, [logits, labels], [loss, logSumExp]);
    }

    public void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing)
    {
        long start = Begin();
        backend.CrossEntropyBackward(logits, logSumExp, labels, scale, gradLogits, rows, classes, ignoreIndex, labelSmoothing);
        End(start, Stop(), "CrossEntropyBackward", gradLogits.Count, [logits, logSumExp, labels], [gradLogits]);
    }

    /// <summary>S = Q Kᵀ and O = P V over the (query, key) pairs the mask allows: 2·BH·pairs·(D + Dv).</summary>
    private static double AttentionFlops(AttentionGeometry g) => 2.0 * g.BatchHeads * g.AllowedPairs * (g.HeadDim + g.ValueDim);

    public void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp)
    {
        long start = Begin();
        backend.Attention(g, q, k, v, mask, output, logSumExp);
        End(start, Stop(), "Attention", AttentionFlops(g), [q, k, v, mask], [output, logSumExp]);
    }

    /// <summary>Recomputing S, then dV = Pᵀ dO, dP = dO Vᵀ, dQ = dS K, dK = dSᵀ Q: 2·BH·pairs·(3D + 2Dv).</summary>
    public void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV)
    {
        long start = Begin();
        backend.AttentionBackward(g, q, k, v, mask, output, logSumExp, gradOutput, gradQ, gradK, gradV);
        double flops = 2.0 * g.BatchHeads * g.AllowedPairs * (3.0 * g.HeadDim + 2.0 * g.ValueDim);
        End(start, Stop(), "AttentionBackward", flops, [q, k, v, mask, output, logSumExp, gradOutput], [gradQ, gradK, gradV]);
    }

    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner)
    {
        long start = Begin();
        backend.Gather(x, index, y, outer, xAxis, indexAxis, inner);
        End(start, Stop(), "Gather", 0, [x, index], [y], bytes: Touched(y, 2) + BytesOf(index));
    }

    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner)
    {
        long start = Begin();
        backend.ScatterAdd(src, index, y, outer, yAxis, indexAxis, inner);
        End(start, Stop(), "ScatterAdd", src.Count, [src, index], [y], bytes: Touched(src, 3) + BytesOf(index));
    }

    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner)
    {
        long start = Begin();
        backend.IndexSelect(x, index, y, outer, xAxis, count, inner);
        End(start, Stop(), "IndexSelect", 0, [x, index], [y], bytes: Touched(y, 2) + BytesOf(index));
    }

    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner)
    {
        long start = Begin();
        backend.IndexAdd(src, index, y, outer, yAxis, count, inner);
        End(start, Stop(), "IndexAdd", src.Count, [src, index], [y], bytes: Touched(src, 3) + BytesOf(index));
    }

    public void OneHot(Tensor index, Tensor y, int rows, int classes)
    {
        long start = Begin();
        backend.OneHot(index, y, rows, classes);
        End(start, Stop(), "OneHot", 0, [index], [y]);
    }

    public void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h)
    {
        long start = Begin();
        backend.OptimizerStep(kind, param, grad, state1, state2, h);
        End(start, Stop(), $"OptimizerStep.{kind}", param.Count, [param, grad, state1, state2], [param, state1, state2]);
    }

    /// <summary>Per step, the input and hidden projections into every gate: 2·B·(in + H)·gates·H, times the steps.</summary>
    private static double RecurrentFlops(RecurrentGeometry g) => 2.0 * g.Batch * g.Steps * (g.InputSize + g.HiddenSize) * g.GateWidth;

    public void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache)
    {
        long start = Begin();
        backend.RecurrentForward(g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache);
        End(start, Stop(), $"RecurrentForward.{g.Cell}", RecurrentFlops(g), [input, weightIh, weightHh, biasIh, biasHh, h0, c0], [output, cache]);
    }

    /// <summary>
    /// Per step, the hidden state's gradient through W_hh (2·B·gates·H·H, always: it carries the
    /// gradient back in time), and each product whose gradient is asked for: the input's through
    /// W_ih and W_ih's own (2·B·gates·H·in each), W_hh's (2·B·gates·H·H). With all of them, twice the forward.
    /// </summary>
    public void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh)
    {
        long start = Begin();
        backend.RecurrentBackward(g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput, gradInput, gradH0, gradC0,
            gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh);
        double products = g.HiddenSize + (gradInput != null ? g.InputSize : 0) + (gradWeightIh != null ? g.InputSize : 0)
                          + (gradWeightHh != null ? g.HiddenSize : 0);
        End(start, Stop(), $"RecurrentBackward.{g.Cell}", 2.0 * g.Batch * g.Steps * g.GateWidth * products, [input, weightIh, weightHh, h0, c0, output, cache, gradOutput],
            [gradInput, gradH0, gradC0, gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh]);
    }
}
