using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The CPU implementation of <see cref="IBackend"/>: a table from the op vocabulary to the
/// family that implements it, one file per family beside this one (the GPU backend has the
/// same cut). Each family picks the element type once per call (<see cref="DTypeDispatch"/>)
/// and calls the C# SIMD kernels in Kernels/Cpu.
/// </summary>
internal sealed class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();

    public BufferPool Pool { get; } = CpuMemory.CreatePool();

    // Memory.cs
    public void Upload(Storage dst, ReadOnlySpan<byte> src) => CpuMemory.Upload(dst, src);
    public void Download(Tensor src, Span<byte> dst) => CpuMemory.Download(src, dst);
    public void Copy(Tensor src, Tensor dst) => CpuMemory.Copy(src, dst);
    public void Fill(Tensor dst, double value) => CpuMemory.Fill(dst, value);
    public void Arange(Tensor dst, double start, double step) => CpuMemory.Arange(dst, start, step);

    // Elementwise.cs
    public void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b) =>
        CpuElementwise.Random(dst, kind, seed, offset, a, b);
    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) => CpuElementwise.Unary(op, x, y, p0, p1);
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => CpuElementwise.Binary(op, a, b, y);
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) => CpuElementwise.Where(cond, a, b, y);

    // Reduce.cs
    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) =>
        CpuReduce.Rows(op, x, y, rows, cols, correction);
    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols) => CpuReduce.ArgRows(max, x, y, rows, cols);
    public void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols) => CpuReduce.Columns(op, x, y, rows, cols);

    // MatMul.cs
    public void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k) =>
        CpuMatMul.MatMul(a, transA, strideA, b, transB, strideB, y, batch, m, n, k);

    // Conv.cs
    public void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output) =>
        CpuConv.Forward(g, input, weight, bias, output);
    public void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput) =>
        CpuConv.BackwardInput(g, gradOutput, weight, gradInput);
    public void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias) =>
        CpuConv.BackwardWeight(g, input, gradOutput, gradWeight, gradBias);

    // Pool.cs
    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) => CpuPool.MaxPool2d(g, input, output, argmax);
    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        CpuPool.MaxPool2dBackward(g, gradOutput, argmax, gradInput);

    // LayerNorm.cs
    public void LayerNorm(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd) =>
        CpuLayerNorm.Forward(g, x, weight, bias, y, mean, rstd);
    public void LayerNormBackward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias) =>
        CpuLayerNorm.Backward(g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias);

    // Softmax.cs
    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols) => CpuSoftmax.Forward(log, x, y, rows, cols);
    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols) =>
        CpuSoftmax.Backward(log, y, gradY, gradX, rows, cols);

    // CrossEntropy.cs
    public void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        CpuCrossEntropy.Forward(logits, labels, loss, logSumExp, rows, classes, ignoreIndex, labelSmoothing);
    public void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        CpuCrossEntropy.Backward(logits, logSumExp, labels, scale, gradLogits, rows, classes, ignoreIndex, labelSmoothing);

    // Attention.cs
    public void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp) =>
        CpuAttention.Forward(g, q, k, v, mask, output, logSumExp);
    public void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV) =>
        CpuAttention.Backward(g, q, k, v, mask, output, logSumExp, gradOutput, gradQ, gradK, gradV);

    // Indexing.cs
    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        CpuIndexing.Gather(x, index, y, outer, xAxis, indexAxis, inner);
    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        CpuIndexing.ScatterAdd(src, index, y, outer, yAxis, indexAxis, inner);
    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        CpuIndexing.IndexSelect(x, index, y, outer, xAxis, count, inner);
    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) =>
        CpuIndexing.IndexAdd(src, index, y, outer, yAxis, count, inner);
    public void OneHot(Tensor index, Tensor y, int rows, int classes) => CpuIndexing.OneHot(index, y, rows, classes);

    // Optim.cs
    public void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h) =>
        CpuOptim.Step(kind, param, grad, state1, state2, h);

    // Recurrent.cs
    public void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache) =>
        CpuRecurrent.Forward(g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache);
    public void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh) =>
        CpuRecurrent.Backward(g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput,
            gradInput, gradH0, gradC0, gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh);
}
