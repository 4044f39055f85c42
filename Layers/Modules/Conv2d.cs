namespace Tensorium.Layers;

/// <summary>
/// 2-d convolution over NCHW input with an [out, in, kh, kw] weight. Padding is a number per
/// side, an (int, int), <see cref="Padding.Same"/> (output size = input size at stride 1, like
/// Keras) or <see cref="Padding.Valid"/> (no padding, the default).
/// Initialised like PyTorch's nn.Conv2d: U(±1/sqrt(in*kh*kw)).
/// </summary>
public sealed class Conv2d : Module
{
    private Tensor _weight;
    private Tensor? _bias;
    private readonly (int H, int W) _stride, _dilation;
    private readonly Padding _padding;

    /// <summary>Square kernel, equal stride/padding/dilation on both axes; <paramref name="padding"/> is a number, <see cref="Padding.Same"/> or <see cref="Padding.Valid"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding padding = default, int dilation = 1, bool bias = true, Generator? generator = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), padding, (dilation, dilation), bias, generator) { }

    /// <summary>Per-axis (height, width) kernel, stride and dilation; <paramref name="padding"/> is an int, an (int, int), <see cref="Padding.Same"/> or <see cref="Padding.Valid"/>.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, Padding padding, (int H, int W) dilation, bool bias = true, Generator? generator = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentException($"Conv2d: channels and kernel size must be positive, got in {inChannels}, out {outChannels}, kernel {kernelSize}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        _stride = stride;
        _dilation = dilation;
        padding.CheckStride("Conv2d", stride);
        _padding = padding;                       // "same" is resolved in Forward
        int fanIn = inChannels * kernelSize.H * kernelSize.W;
        _weight = RegisterParameter("weight", Init.TorchDefault([outChannels, inChannels, kernelSize.H, kernelSize.W], fanIn, generator));
        _bias = bias ? RegisterParameter("bias", Init.TorchDefault([outChannels], fanIn, generator)) : null;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Zeros per side, or <see cref="Padding.Same"/>.</summary>
    public Padding Padding => _padding;
    /// <summary>[out, in, kh, kw] weight.</summary>
    public Tensor Weight => _weight;
    /// <summary>[out] bias, or null.</summary>
    public Tensor? Bias => _bias;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var padding = _padding.Resolve("Conv2d", KernelSize, _dilation);
        return input.Conv2d(_weight, _bias, _stride, padding, _dilation);
    }
}
