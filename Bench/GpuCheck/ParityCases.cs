namespace Tensorium.GpuCheck;

/// <summary>
/// The op suite gpu-check runs on each device: every GPU kernel at least once, on awkward
/// (non-tile-multiple) shapes, with strided and broadcast inputs, forward and backward.
/// </summary>
internal static class ParityCases
{
    private static int _seed = 100;

    /// <summary>
    /// The TF32 cases' tolerance (relative to the largest reference value, as every case's). TF32
    /// keeps 11 significant bits of each input: simulated on U(-1, 1) data, its error has about
    /// 2.7e-4 of the outputs' spread whatever k (both grow as sqrt k), and its largest error about
    /// 3e-4 of the largest output. 2e-3 leaves a margin of 5 or more, yet a kernel that loses one
    /// 16-deep slab of k or misplaces a fragment is off by more than 1e-2.
    /// </summary>
    private const double Tf32Tolerance = 2e-3;

    /// <summary>A uniform [low, high) float tensor, each one from its own seed so inputs differ.</summary>
    private static Tensor U(int[] shape, double low = -1, double high = 1, DType dtype = DType.Float32) =>
        Tensor.Uniform(shape, low, high, new Generator((ulong)Interlocked.Increment(ref _seed)), dtype);

    private static Tensor Labels(int count, int classes) =>
        Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i * 7 % classes)).ToArray(), count);

    public static IReadOnlyList<ParityCase> All { get; } =
    [
        // Elementwise, broadcasting over strided views.
        new("add broadcast 67x45x33 + 45x1", () => [U([67, 45, 33]), U([45, 1])], x => x[0] + x[1]),
        new("mul transposed view", () => [U([33, 45]), U([45, 33])], x => x[0].Transpose(0, 1) * x[1]),
        new("div", () => [U([1000]), U([1000], 0.5, 2)], x => x[0] / x[1]),
        new("maximum", () => [U([31, 17]), U([17])], x => x[0].Maximum(x[1])),
        new("where(gt)", () => [U([129, 3]), U([129, 3])], x => x[0].Gt(0).Where(x[0], x[1])),
        new("int32 add", () => [Tensor.Arange(0, 1000, 1, DType.Int32), Tensor.Arange(0, 1000, 1, DType.Int32)], x => x[0] + x[1]),
        new("to(float64)", () => [U([77, 5])], x => x[0].To(DType.Float64)),
        new("contiguous permute rank 5", () => [U([3, 4, 5, 6, 7])], x => x[0].Permute(4, 2, 0, 3, 1).Contiguous()),
        // Unary.
        new("exp", () => [U([4099])], x => x[0].Exp()),
        new("log", () => [U([4099], 0.1, 5)], x => x[0].Log()),
        new("tanh", () => [U([4099], -4, 4)], x => x[0].Tanh()),
        new("sigmoid", () => [U([4099], -8, 8)], x => x[0].Sigmoid()),
        new("relu", () => [U([4099])], x => x[0].Relu()),
        new("gelu", () => [U([4099], -4, 4)], x => x[0].Gelu()),
        new("pow 2.5", () => [U([4099], 0.1, 3)], x => x[0].Pow(2.5)),
        new("sin", () => [U([4099], -6, 6)], x => x[0].Sin()),
        // Reductions.
        new("sum axes 0,2", () => [U([67, 45, 33])], x => x[0].Sum([0, 2])),
        new("mean last 3x1000", () => [U([3, 1000])], x => x[0].Mean(-1)),
        new("var 45x333", () => [U([45, 333])], x => x[0].Var([1])),
        new("max axis 1", () => [U([37, 513])], x => x[0].Max(1)),
        new("argmax", () => [U([37, 513])], x => x[0].ArgMax(1), Differentiable: false),
        // Matrix products.
        new("matmul 67x45 @ 45x33", () => [U([67, 45]), U([45, 33])], x => x[0].MatMul(x[1])),
        new("matmul batched transposed", () => [U([3, 45, 67]), U([3, 33, 45])], x => x[0].Transpose(1, 2).MatMul(x[1].Transpose(1, 2))),
        new("matmul 256x512 @ 512x128", () => [U([256, 512]), U([512, 128])], x => x[0].MatMul(x[1]), 2e-4),
        new("matmul float64", () => [U([67, 45], dtype: DType.Float64), U([45, 33], dtype: DType.Float64)], x => x[0].MatMul(x[1]), 1e-12),
        // Convolution and pooling.
        new("conv2d 3x3 pad 1 + bias", () => [U([2, 3, 13, 11]), U([5, 3, 3, 3]), U([5])], x => x[0].Conv2d(x[1], x[2], padding: 1)),
        new("conv2d stride 2 dilation 2", () => [U([2, 4, 17, 15]), U([6, 4, 3, 3])], x => x[0].Conv2d(x[1], stride: 2, padding: 1, dilation: 2)),
        new("max_pool2d 2x2", () => [U([2, 3, 13, 11])], x => x[0].MaxPool2d(2)),
        new("max_pool2d 3 stride 2 pad 1", () => [U([2, 3, 13, 11])], x => x[0].MaxPool2d((3, 3), (2, 2), (1, 1))),
        // TF32 products: run with GpuSettings.AllowTf32 on (float32 where the device has no TF32).
        new("tf32 matmul 512x4096 @ 4096x384", () => [U([512, 4096]), U([4096, 384])], x => x[0].MatMul(x[1]), Tf32Tolerance, Tf32: true),
        new("tf32 matmul 257x33 @ 33x130", () => [U([257, 33]), U([33, 130])], x => x[0].MatMul(x[1]), Tf32Tolerance, Tf32: true),
        new("tf32 matmul Aᵀ @ B 257x33x130", () => [U([33, 257]), U([33, 130])], x => x[0].Transpose(0, 1).MatMul(x[1]), Tf32Tolerance, Tf32: true),
        new("tf32 matmul A @ Bᵀ 257x33x130", () => [U([257, 33]), U([130, 33])], x => x[0].MatMul(x[1].Transpose(0, 1)), Tf32Tolerance, Tf32: true),
        new("tf32 matmul Aᵀ @ Bᵀ 257x33x130", () => [U([33, 257]), U([130, 33])], x => x[0].Transpose(0, 1).MatMul(x[1].Transpose(0, 1)), Tf32Tolerance, Tf32: true),
        new("tf32 matmul batched, B broadcast", () => [U([5, 129, 70]), U([70, 257])], x => x[0].MatMul(x[1]), Tf32Tolerance, Tf32: true),
        new("tf32 matmul batched transposed", () => [U([3, 45, 67]), U([3, 33, 45])], x => x[0].Transpose(1, 2).MatMul(x[1].Transpose(1, 2)), Tf32Tolerance, Tf32: true),
        new("tf32 conv2d 3x3 pad 1 + bias", () => [U([4, 16, 19, 17]), U([32, 16, 3, 3], -0.2, 0.2), U([32])], x => x[0].Conv2d(x[1], x[2], padding: 1), Tf32Tolerance, Tf32: true),
        new("tf32 conv2d stride 2 dilation 2", () => [U([3, 24, 23, 21]), U([40, 24, 3, 3], -0.2, 0.2)], x => x[0].Conv2d(x[1], stride: 2, padding: 1, dilation: 2), Tf32Tolerance, Tf32: true),
        // Softmax, attention, losses.
        new("softmax 37x1000", () => [U([37, 1000], -5, 5)], x => x[0].Softmax(-1)),
        new("log_softmax 37x1000", () => [U([37, 1000], -5, 5)], x => x[0].LogSoftmax(-1)),
        new("attention 2x3x67x32", () => [U([2, 3, 67, 32]), U([2, 3, 67, 32]), U([2, 3, 67, 32])],
            x => AttentionOp.ScaledDotProductAttention(x[0], x[1], x[2])),
        new("attention causal Lq<Lk", () => [U([2, 2, 33, 16]), U([2, 2, 70, 16]), U([2, 2, 70, 16])],
            x => AttentionOp.ScaledDotProductAttention(x[0], x[1], x[2], causal: true)),
        new("attention additive mask", () => [U([1, 2, 45, 8]), U([1, 2, 45, 8]), U([1, 2, 45, 8]), U([45, 45])],
            x => AttentionOp.ScaledDotProductAttention(x[0], x[1], x[2], mask: x[3])),
        new("cross_entropy", () => [U([67, 10], -3, 3), Labels(67, 10)], x => x[0].CrossEntropy(x[1])),
        new("cross_entropy 37x1000 eps 0.1 ignore", () => [U([37, 1000], -5, 5),
                Tensor.FromArray(Enumerable.Range(0, 37).Select(i => i % 5 == 3 ? -100L : i * 7 % 1000L).ToArray(), 37)],
            x => x[0].CrossEntropy(x[1], labelSmoothing: 0.1)),
        new("cross_entropy none, transposed", () => [U([300, 45], -5, 5), Labels(45, 300)],
            x => x[0].Transpose(0, 1).CrossEntropy(x[1], Reduction.None, labelSmoothing: 0.2)),
        // Indexing.
        new("embedding", () => [U([50, 16]), Labels(67, 50)], x => x[0].Embedding(x[1])),
        new("gather dim 1", () => [U([7, 40]), Tensor.FromArray(Enumerable.Range(0, 7 * 5).Select(i => (long)(i * 13 % 40)).ToArray(), 7, 5)],
            x => x[0].Gather(1, x[1])),
        new("one_hot", () => [Labels(67, 10)], x => x[0].OneHot(10), Differentiable: false),
        // Recurrent layers.
        new("lstm B3 T5 in4 H6", () => [U([3, 5, 4]), U([3, 6]), U([3, 6]), U([24, 4]), U([24, 6]), U([24]), U([24])],
            x => { using var s = x[0].LstmSequence(x[1], x[2], x[3], x[4], x[5], x[6]); return Joining.Stack([s.H, s.C], 0); }),
        new("gru B3 T5 in4 H6", () => [U([3, 5, 4]), U([3, 6]), U([18, 4]), U([18, 6]), U([18]), U([18])],
            x => x[0].GruSequence(x[1], x[2], x[3], x[4], x[5])),
        // Random numbers: the same seed draws the same numbers on every device.
        // (The input only says which device to draw on.)
        new("uniform draw (seed 5)", () => [Tensor.Zeros([1])], x => Tensor.Uniform([1000], -1, 1, new Generator(5), device: x[0].Device), 0, Differentiable: false),
        new("dropout mask (seed 5)", () => [Tensor.Zeros([1])], x => Tensor.Bernoulli([1000], 0.3, new Generator(5), device: x[0].Device), 0, Differentiable: false),
    ];
}
