namespace Tensorium.Layers;

/// <summary>
/// 2-d convolution over NCHW input with an [out, in, kh, kw] weight. Padding is a number per
/// side, or "same" (output size = input size at stride 1, like Keras) or "valid" (no padding).
/// Initialised like PyTorch's nn.Conv2d: U(±1/sqrt(in*kh*kw)).
/// </summary>
public sealed class Conv2d : Module
{
    private Tensor _weight;
    private Tensor? _bias;
    private readonly (int H, int W) _stride, _dilation;
    private readonly (int H, int W)? _padding;

    /// <summary>Square kernel, equal stride/padding/dilation on both axes; <paramref name="padding"/> is a number, "same" or "valid".</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, object? padding = null, int dilation = 1, bool bias = true, Generator? generator = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), padding, (dilation, dilation), bias, generator) { }

    /// <summary>Per-axis (height, width) kernel, stride and dilation; <paramref name="padding"/> is an int, an (int, int), "same" or "valid".</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, object? padding, (int H, int W) dilation, bool bias = true, Generator? generator = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentException($"Conv2d: channels and kernel size must be positive, got in {inChannels}, out {outChannels}, kernel {kernelSize}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        _stride = stride;
        _dilation = dilation;
        _padding = padding switch
        {
            null or "valid" => (0, 0),
            "same" => null,                       // resolved per input size in Forward
            int p => (p, p),
            ValueTuple<int, int> p => (p.Item1, p.Item2),
            _ => throw new ArgumentException($"Conv2d: padding must be an int, (int, int), \"same\" or \"valid\", got {padding}."),
        };
        if (_padding == null && (stride.H != 1 || stride.W != 1))
            throw new ArgumentException($"Conv2d: padding \"same\" needs stride 1, got {stride}.");
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
    /// <summary>[out, in, kh, kw] weight.</summary>
    public Tensor Weight => _weight;
    /// <summary>[out] bias, or null.</summary>
    public Tensor? Bias => _bias;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        // "same": total padding (k-1)*d per axis; an odd total puts the extra row/column at the
        // end, which symmetric padding cannot express, so only odd effective kernels are allowed.
        var padding = _padding ?? SamePadding();
        return input.Conv2d(_weight, _bias, _stride, padding, _dilation);
    }

    private (int, int) SamePadding()
    {
        int th = (KernelSize.H - 1) * _dilation.H, tw = (KernelSize.W - 1) * _dilation.W;
        if (th % 2 != 0 || tw % 2 != 0)
            throw new ArgumentException($"Conv2d: padding \"same\" needs an odd effective kernel size, got kernel {KernelSize} with dilation {_dilation}.");
        return (th / 2, tw / 2);
    }

    /// <inheritdoc />
    protected override void OnTensorReplaced(string name, Tensor oldValue, Tensor newValue)
    {
        if (name == "weight") _weight = newValue; else _bias = newValue;
    }
}
