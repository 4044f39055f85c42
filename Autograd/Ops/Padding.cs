namespace Tensorium;

/// <summary>
/// How a convolution pads its input (TorchSharp's and PyTorch's <c>padding</c> option, typed):
/// <see cref="Valid"/> (none, the default), <see cref="Same"/> (output size = input size at
/// stride 1, like Keras; needs an odd effective kernel so the zeros split evenly), or
/// <see cref="Symmetric(int)"/> zeros on each side. An <c>int</c> or an <c>(int, int)</c>
/// converts implicitly, so <c>padding: 1</c> and <c>padding: (1, 2)</c> read as before.
/// </summary>
public readonly record struct Padding
{
    private Padding(int height, int width, bool isSame)
    {
        Height = height;
        Width = width;
        IsSame = isSame;
    }

    /// <summary>No padding (the default value).</summary>
    public static Padding Valid => default;

    /// <summary>Zeros that keep the output size equal to the input size at stride 1, resolved per kernel by <see cref="Resolve"/>.</summary>
    public static Padding Same { get; } = new(0, 0, true);

    /// <summary><paramref name="padding"/> zeros on each side of both spatial dimensions.</summary>
    public static Padding Symmetric(int padding) => new(padding, padding, false);

    /// <summary><paramref name="height"/> zeros above and below, <paramref name="width"/> left and right.</summary>
    public static Padding Symmetric(int height, int width) => new(height, width, false);

    /// <summary>Zeros above and below (0 for <see cref="Same"/>, which <see cref="Resolve"/> computes).</summary>
    public int Height { get; }

    /// <summary>Zeros left and right (0 for <see cref="Same"/>, which <see cref="Resolve"/> computes).</summary>
    public int Width { get; }

    /// <summary>Whether this is <see cref="Same"/>.</summary>
    public bool IsSame { get; }

    /// <summary>The same number of zeros on every side.</summary>
    public static implicit operator Padding(int padding) => Symmetric(padding);

    /// <summary>Per-axis (height, width) zeros on each side.</summary>
    public static implicit operator Padding((int H, int W) padding) => Symmetric(padding.H, padding.W);

    /// <summary>Throws, naming <paramref name="op"/>, when this is <see cref="Same"/> and the stride is not 1.</summary>
    public void CheckStride(string op, (int H, int W) stride)
    {
        if (IsSame && (stride.H != 1 || stride.W != 1))
            throw new ArgumentException($"{op}: padding \"same\" needs stride 1, got {stride}.");
    }

    /// <summary>
    /// The zeros per side for a kernel of <paramref name="kernel"/> with <paramref name="dilation"/>.
    /// "same" pads (k-1)*d in total per axis; an odd total would put the extra row/column at the
    /// end, which symmetric padding cannot express, so only odd effective kernels are allowed.
    /// </summary>
    public (int H, int W) Resolve(string op, (int H, int W) kernel, (int H, int W) dilation)
    {
        if (!IsSame) return (Height, Width);
        int th = (kernel.H - 1) * dilation.H, tw = (kernel.W - 1) * dilation.W;
        if (th % 2 != 0 || tw % 2 != 0)
            throw new ArgumentException($"{op}: padding \"same\" needs an odd effective kernel size, got kernel {kernel} with dilation {dilation}.");
        return (th / 2, tw / 2);
    }

    /// <summary>"same", one number when both axes agree, else "(h, w)".</summary>
    public override string ToString() => IsSame ? "same" : Height == Width ? $"{Height}" : $"({Height}, {Width})";
}
