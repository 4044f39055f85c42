using Tensorium.Kernels.Cpu;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The coarse op surface every device implements. Callers (the Autograd ops, Tensor's own
/// methods, FusedOptimizer) check shapes, dtypes, devices, index ranges and labels first, so
/// backends and kernels do not check them again.
/// Backends return nothing: the caller passes every output, on the same device, and the backend
/// writes into it. Op outputs are tensors the caller has just allocated (dense unless a member
/// says otherwise); Copy writes into any strided destination, Upload into existing storage, and
/// OptimizerStep updates the parameter and its state tensors in place.
/// Every op and layer computes through these members, never by looping over elements on the host.
/// Above the Engine, elements cross to the host only as input and output, through Upload and
/// Download (Tensor.FromArray, ToArray, Item): loading data, checkpoints, scalar results such as
/// a loss or a norm, GradCheck's and AllClose's comparisons, and the index and label range checks.
/// </summary>
internal interface IBackend
{
    /// <summary>The device's buffer pool.</summary>
    BufferPool Pool { get; }

    void Upload(Storage dst, ReadOnlySpan<byte> src);
    void Download(Tensor src, Span<byte> dst);

    /// <summary>Copies a strided tensor into another strided tensor of the same shape (types may differ).</summary>
    void Copy(Tensor src, Tensor dst);
    void Fill(Tensor dst, double value);
    void Arange(Tensor dst, double start, double step);
    void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b);

    void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1);
    /// <summary>a and b are views already broadcast to y's shape.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    /// <summary>x is contiguous [rows, cols]; y has rows elements.</summary>
    void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction);
    void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols);
    /// <summary>
    /// y[c] = sum (op Sum) or mean (op Mean) over r of x[r, c]: the reduction over a contiguous
    /// floating tensor's leading axes (a bias gradient), seen as [rows, cols]; y has cols elements.
    /// Each backend picks its own way, so no caller has to transpose x first.
    /// </summary>
    void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols);

    /// <summary>Batched y[b] = op(a[b]) @ op(b[b]); a, b, y are contiguous per batch with the given batch strides.</summary>
    void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k);

    void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output);
    void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput);
    void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias);

    /// <summary>argmax is int32: the winning input's index within its (n, c) plane.</summary>
    void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax);
    void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput);

    void Softmax(bool log, Tensor x, Tensor y, int rows, int cols);
    void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols);

    /// <summary>
    /// Layer normalisation of each row of x (contiguous, seen as [g.Rows, g.Cols]): y = (x - mean) rstd · weight + bias,
    /// rstd = 1 / sqrt(biased var + eps). weight and bias are contiguous [g.Cols] or null (1 and 0); writes y (x's
    /// shape, contiguous) and mean, rstd [g.Rows] for the backward pass.
    /// </summary>
    void LayerNorm(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd);
    /// <summary>
    /// Gradients of <see cref="LayerNorm"/> from its input x, weight (or null), the saved mean and rstd and gradY
    /// (contiguous, x's shape): writes each of gradX (x's shape), gradWeight and gradBias ([g.Cols]) that is not null.
    /// </summary>
    void LayerNormBackward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias);

    /// <summary>
    /// Fused softmax cross-entropy. logits is contiguous [rows, classes], labels contiguous int64 [rows].
    /// Writes loss [rows], each row's label-smoothed loss -(1-ε) logp[label] - (ε/classes) Σ logp (0 where
    /// the label is ignoreIndex), and logSumExp [rows], kept for the backward pass. A label outside
    /// [0, classes) that is not ignoreIndex throws an ArgumentException naming cross_entropy.
    /// </summary>
    void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing);
    /// <summary>
    /// gradLogits [rows, classes] = scale[r] (exp(logits - logSumExp[r]) - target), with target = (1-ε) one-hot + ε/classes,
    /// and 0 on rows whose label is ignoreIndex. scale is a [rows] view of any stride (0: one value broadcast to every row).
    /// </summary>
    void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing);

    /// <summary>q, k, v, output are contiguous [BH, L, D]; mask (optional, additive) is a [B, H, Lq, Lk] view with BH = B*H.</summary>
    void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp);
    void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV);

    /// <summary>Tensors seen as [outer, axis, inner]; index is int64.</summary>
    void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner);
    void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner);
    void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner);
    void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner);
    void OneHot(Tensor index, Tensor y, int rows, int classes);

    /// <summary>
    /// One fused optimizer update, in place on param and the state tensors (all contiguous, same
    /// dtype and element count as grad; checked by the Autograd layer's FusedOptimizer.Step). Which
    /// state a kind uses is described on <see cref="OptimizerHyper"/>.
    /// </summary>
    void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h);

    /// <summary>
    /// One recurrent layer over a whole sequence (see <see cref="RecurrentSequence"/>): input
    /// [B, T, in], h0/c0 [B, H], output [States, B, T, H], cache [B, T, CacheWidth]; all contiguous.
    /// Biases and c0 (non-LSTM) may be null.
    /// </summary>
    void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache);
    /// <summary>Backpropagation through time for <see cref="RecurrentForward"/>; gradients not needed are null, the others are overwritten.</summary>
    void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh);
}
