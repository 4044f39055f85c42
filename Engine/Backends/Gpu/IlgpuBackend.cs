using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// The <see cref="IBackend"/> over an ILGPU accelerator: a table from the op vocabulary to the
/// family that implements it, one file per family beside this one (cut as the CPU backend's).
/// Each family picks the dtype, takes the tensors' memory as ArrayViews (<see cref="View{T}"/>)
/// and launches C# kernels from Kernels/Gpu, each loaded once per accelerator and kept as a
/// typed launcher (<see cref="Launcher{TLauncher}"/>). Launches are asynchronous on the
/// accelerator's default stream; downloads wait for them.
/// </summary>
internal sealed class IlgpuBackend : IBackend
{
    private static readonly ConcurrentDictionary<Device, IlgpuBackend> Opened = new();

    private readonly IlgpuBuffers _buffers;
    private readonly ConcurrentDictionary<object, Delegate> _launchers = new();

    private IlgpuBackend(Device device, Accelerator accelerator)
    {
        Device = device;
        Accelerator = accelerator;
        _buffers = new IlgpuBuffers(device, accelerator);
        Pool = new BufferPool(device.ToString(), _buffers.Allocate, _buffers.Free);
    }

    /// <summary>The backend of <paramref name="device"/>, opened on first use and kept for the life of the process.</summary>
    public static IlgpuBackend For(Device device) =>
        Opened.TryGetValue(device, out var backend) ? backend : Opened.GetOrAdd(device, d => new IlgpuBackend(d, IlgpuContext.Accelerator(d)));

    public Device Device { get; }
    public Accelerator Accelerator { get; }
    public BufferPool Pool { get; }

    /// <summary>Waits for every kernel launched on this device.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>
    /// <paramref name="t"/>'s elements as <typeparamref name="T"/>, from its first element (its
    /// layout offset) to the end of its storage, so a kernel indexes from 0 with the tensor's strides.
    /// </summary>
    public ArrayView<T> View<T>(Tensor t, string op) where T : unmanaged
    {
        var storage = t.StorageFor(op);
        long size = storage.DType.SizeInBytes();
        long offset = t.Layout.Offset * size;
        return _buffers.Bytes(storage.Handle).SubView(offset, storage.Count * size - offset).Cast<T>();
    }

    /// <summary>
    /// The device address of <paramref name="t"/>'s first element, for a vendor library that takes
    /// raw pointers (gpu-check's cuBLAS baseline); valid while the tensor lives.
    /// </summary>
    public nint DevicePointer(Tensor t, string op)
    {
        var storage = t.StorageFor(op);
        return _buffers.NativePointer(storage.Handle) + (nint)(t.Layout.Offset * storage.DType.SizeInBytes());
    }

    /// <summary>The whole buffer behind <paramref name="storage"/>, as bytes (for uploads).</summary>
    public ArrayView<byte> Bytes(Storage storage) => _buffers.Bytes(storage.Handle);

    /// <summary>The launcher of <paramref name="kernel"/> on this accelerator: compiled on first use, then kept.</summary>
    public TLauncher Launcher<TLauncher>(IlgpuKernel<TLauncher> kernel) where TLauncher : Delegate =>
        (TLauncher)_launchers.GetOrAdd(kernel, _ => kernel.Load(Accelerator));

    // Memory.cs
    public void Upload(Storage dst, ReadOnlySpan<byte> src) => GpuMemory.Upload(this, dst, src);
    public void Download(Tensor src, Span<byte> dst) => GpuMemory.Download(this, src, dst);
    public void Copy(Tensor src, Tensor dst) => GpuMemory.Copy(this, src, dst);
    public void Fill(Tensor dst, double value) => GpuMemory.Fill(this, dst, value);
    public void Arange(Tensor dst, double start, double step) => GpuMemory.Arange(this, dst, start, step);

    // Elementwise.cs
    public void Random(Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b) =>
        GpuElementwise.Random(this, dst, kind, seed, offset, a, b);
    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) => GpuElementwise.Unary(this, op, x, y, p0, p1);
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => GpuElementwise.Binary(this, op, a, b, y);
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) => GpuElementwise.Where(this, cond, a, b, y);

    // Reduce.cs
    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) =>
        GpuReduce.Rows(this, op, x, y, rows, cols, correction);
    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols) => GpuReduce.ArgRows(this, max, x, y, rows, cols);
    public void ReduceColumns(ReduceOp op, Tensor x, Tensor y, int rows, int cols) => GpuReduce.Columns(this, op, x, y, rows, cols);

    // MatMul.cs
    public void MatMul(Tensor a, bool transA, int strideA, Tensor b, bool transB, int strideB, Tensor y, int batch, int m, int n, int k) =>
        GpuMatMul.MatMul(this, a, transA, strideA, b, transB, strideB, y, batch, m, n, k);

    // Conv.cs
    public void Conv2d(Conv2dGeometry g, Tensor input, Tensor weight, Tensor? bias, Tensor output) =>
        GpuConv.Forward(this, g, input, weight, bias, output);
    public void Conv2dBackwardInput(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput) =>
        GpuConv.BackwardInput(this, g, gradOutput, weight, gradInput);
    public void Conv2dBackwardWeight(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor? gradBias) =>
        GpuConv.BackwardWeight(this, g, input, gradOutput, gradWeight, gradBias);

    // Pool.cs
    public void MaxPool2d(Pool2dGeometry g, Tensor input, Tensor output, Tensor argmax) => GpuPool.MaxPool2d(this, g, input, output, argmax);
    public void MaxPool2dBackward(Pool2dGeometry g, Tensor gradOutput, Tensor argmax, Tensor gradInput) =>
        GpuPool.MaxPool2dBackward(this, g, gradOutput, argmax, gradInput);

    // LayerNorm.cs
    public void LayerNorm(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd) =>
        GpuLayerNorm.Forward(this, g, x, weight, bias, y, mean, rstd);
    public void LayerNormBackward(LayerNormGeometry g, Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor gradY,
        Tensor? gradX, Tensor? gradWeight, Tensor? gradBias) =>
        GpuLayerNorm.Backward(this, g, x, weight, mean, rstd, gradY, gradX, gradWeight, gradBias);

    // Softmax.cs
    public void Softmax(bool log, Tensor x, Tensor y, int rows, int cols) => GpuSoftmax.Forward(this, log, x, y, rows, cols);
    public void SoftmaxBackward(bool log, Tensor y, Tensor gradY, Tensor gradX, int rows, int cols) =>
        GpuSoftmax.Backward(this, log, y, gradY, gradX, rows, cols);

    // CrossEntropy.cs
    public void CrossEntropy(Tensor logits, Tensor labels, Tensor loss, Tensor logSumExp, int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        GpuCrossEntropy.Forward(this, logits, labels, loss, logSumExp, rows, classes, ignoreIndex, labelSmoothing);
    public void CrossEntropyBackward(Tensor logits, Tensor logSumExp, Tensor labels, Tensor scale, Tensor gradLogits,
        int rows, int classes, int ignoreIndex, double labelSmoothing) =>
        GpuCrossEntropy.Backward(this, logits, logSumExp, labels, scale, gradLogits, rows, classes, ignoreIndex, labelSmoothing);

    // Attention.cs
    public void Attention(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp) =>
        GpuAttention.Forward(this, g, q, k, v, mask, output, logSumExp);
    public void AttentionBackward(AttentionGeometry g, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor logSumExp,
        Tensor gradOutput, Tensor gradQ, Tensor gradK, Tensor gradV) =>
        GpuAttention.Backward(this, g, q, k, v, mask, output, logSumExp, gradOutput, gradQ, gradK, gradV);

    // Indexing.cs
    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        GpuIndexing.Gather(this, x, index, y, outer, xAxis, indexAxis, inner);
    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        GpuIndexing.ScatterAdd(this, src, index, y, outer, yAxis, indexAxis, inner);
    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        GpuIndexing.IndexSelect(this, x, index, y, outer, xAxis, count, inner);
    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) =>
        GpuIndexing.IndexAdd(this, src, index, y, outer, yAxis, count, inner);
    public void OneHot(Tensor index, Tensor y, int rows, int classes) => GpuIndexing.OneHot(this, index, y, rows, classes);

    // Optim.cs
    public void OptimizerStep(OptimizerKind kind, Tensor param, Tensor grad, Tensor? state1, Tensor? state2, OptimizerHyper h) =>
        GpuOptim.Step(this, kind, param, grad, state1, state2, h);

    // Recurrent.cs
    public void RecurrentForward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh,
        Tensor h0, Tensor? c0, Tensor output, Tensor cache) =>
        GpuRecurrent.Forward(this, g, input, weightIh, weightHh, biasIh, biasHh, h0, c0, output, cache);
    public void RecurrentBackward(RecurrentGeometry g, Tensor input, Tensor weightIh, Tensor weightHh, Tensor h0, Tensor? c0,
        Tensor output, Tensor cache, Tensor gradOutput, Tensor? gradInput, Tensor? gradH0, Tensor? gradC0,
        Tensor? gradWeightIh, Tensor? gradWeightHh, Tensor? gradBiasIh, Tensor? gradBiasHh) =>
        GpuRecurrent.Backward(this, g, input, weightIh, weightHh, h0, c0, output, cache, gradOutput,
            gradInput, gradH0, gradC0, gradWeightIh, gradWeightHh, gradBiasIh, gradBiasHh);
}
