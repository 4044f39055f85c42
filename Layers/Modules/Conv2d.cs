namespace Tensorium.Layers;

/// <summary>
/// 2-d convolution over NCHW input with an [out, in / groups, kh, kw] weight, as torch.nn.Conv2d.
/// Padding is a number per side, an (int, int), <see cref="Padding.Same"/> (output size = input
/// size at stride 1; an even effective kernel puts the extra row and column at the bottom and
/// right, as PyTorch) or <see cref="Padding.Valid"/> (no padding, the default), filled as
/// <see cref="PaddingMode"/> says (zeros, reflect, replicate or circular). With
/// <see cref="Groups"/> &gt; 1 the channels split into groups convolved separately (groups =
/// in channels is a depthwise convolution). Initialised like PyTorch: U(±1/sqrt(in/groups·kh·kw)).
/// <para>
/// The common case (zeros, symmetric, one group) is one conv2d kernel call; the others are
/// composed from differentiable ops around it: explicit padding (concatenation or an index
/// select) and one conv2d per group, concatenated.
/// </para>
/// <para>
/// Performance: with <see cref="Groups"/> &gt; 1 the forward runs one convolution per group (and
/// backward one per group as well) instead of a single grouped kernel, so a depthwise layer with
/// many channels costs many small kernel calls; this is a known cost of the current
/// implementation, not of the model.
/// </para>
/// </summary>
public sealed class Conv2d : Module
{
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly (int H, int W) _stride, _dilation;
    private readonly Padding _padding;

    /// <summary>Square kernel, equal stride/padding/dilation on both axes; <paramref name="padding"/> is a number, <see cref="Padding.Same"/> or <see cref="Padding.Valid"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding padding = default, int dilation = 1, bool bias = true, Generator? generator = null,
        int groups = 1, PaddingMode paddingMode = PaddingMode.Zeros)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), padding, (dilation, dilation), bias, generator, groups, paddingMode) { }

    /// <summary>
    /// Per-axis (height, width) kernel, stride and dilation; <paramref name="padding"/> is an int,
    /// an (int, int), <see cref="Padding.Same"/> or <see cref="Padding.Valid"/>;
    /// <paramref name="groups"/> must divide both channel counts.
    /// </summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, Padding padding, (int H, int W) dilation, bool bias = true, Generator? generator = null,
        int groups = 1, PaddingMode paddingMode = PaddingMode.Zeros)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize.H <= 0 || kernelSize.W <= 0)
            throw new ArgumentException($"Conv2d: channels and kernel size must be positive, got in {inChannels}, out {outChannels}, kernel {kernelSize}.");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups must be positive and divide both channel counts, got {groups} groups for in {inChannels}, out {outChannels}.");
        if (!Enum.IsDefined(paddingMode))
            throw new ArgumentException($"Conv2d: unknown padding mode {paddingMode}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Groups = groups;
        PaddingMode = paddingMode;
        _stride = stride;
        _dilation = dilation;
        padding.CheckStride("Conv2d", stride);
        _padding = padding;
        int fanIn = inChannels / groups * kernelSize.H * kernelSize.W;
        _weight = RegisterParameter("weight", Init.TorchDefault([outChannels, inChannels / groups, kernelSize.H, kernelSize.W], fanIn, generator));
        _bias = bias ? RegisterParameter("bias", Init.TorchDefault([outChannels], fanIn, generator)) : null;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Channel groups: each group of InChannels / Groups inputs makes OutChannels / Groups outputs.</summary>
    public int Groups { get; }
    /// <summary>What is read outside the input.</summary>
    public PaddingMode PaddingMode { get; }
    /// <summary>Padding per side, or <see cref="Padding.Same"/>.</summary>
    public Padding Padding => _padding;
    /// <summary>Step of the kernel over the input (height, width), as PyTorch's <c>stride</c>.</summary>
    public (int H, int W) Stride => _stride;
    /// <summary>Spacing between kernel elements (height, width), as PyTorch's <c>dilation</c>; 1 is a dense kernel.</summary>
    public (int H, int W) Dilation => _dilation;
    /// <summary>[out, in / groups, kh, kw] weight.</summary>
    public Tensor Weight => _weight;
    /// <summary>[out] bias, or null.</summary>
    public Tensor? Bias => _bias;

    /// <summary>
    /// The padding of each side (top, bottom, left, right). "same" pads dilation·(k - 1) in total
    /// per axis, the odd one at the bottom or right, as PyTorch.
    /// </summary>
    public (int Top, int Bottom, int Left, int Right) SidePadding
    {
        get
        {
            if (!_padding.IsSame) return (_padding.Height, _padding.Height, _padding.Width, _padding.Width);
            int th = _dilation.H * (KernelSize.H - 1), tw = _dilation.W * (KernelSize.W - 1);
            return (th / 2, th - th / 2, tw / 2, tw - tw / 2);
        }
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Layout.Shape[1] != InChannels)
            throw new ArgumentException($"Conv2d: expected input [N, {InChannels}, H, W], got {Layout.Format(input.Layout.Shape)}.");
        CheckMatchesState(input, _weight);   // named here, not by the padding or the conv op
        var side = SidePadding;
        bool symmetric = side.Top == side.Bottom && side.Left == side.Right;
        bool anyPadding = side.Top + side.Bottom + side.Left + side.Right > 0;
        // The kernel pads with zeros, symmetrically; anything else is padded here first.
        using var padded = anyPadding && (PaddingMode != PaddingMode.Zeros || !symmetric)
            ? SpatialPadding.Pad("Conv2d", input, side, PaddingMode)
            : null;
        var x = padded ?? input;
        var kernelPadding = padded == null ? (side.Top, side.Left) : (0, 0);
        if (Groups == 1) return x.Conv2d(_weight, _bias, _stride, kernelPadding, _dilation);

        int inPerGroup = InChannels / Groups, outPerGroup = OutChannels / Groups;
        var outputs = new List<Tensor>();
        try
        {
            for (int g = 0; g < Groups; g++)
            {
                using var xg = x.Narrow(1, g * inPerGroup, inPerGroup);
                using var wg = _weight.Narrow(0, g * outPerGroup, outPerGroup);
                using var bg = _bias?.Narrow(0, g * outPerGroup, outPerGroup);
                outputs.Add(xg.Conv2d(wg, bg, _stride, kernelPadding, _dilation));
            }
            return Joining.Concat(outputs, 1);
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
    }
}
