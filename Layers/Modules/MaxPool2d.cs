namespace Tensorium.Layers;

/// <summary>Max pooling over NCHW input; stride defaults to the window size (Keras and PyTorch).</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit -inf padding per side.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input.MaxPool2d(KernelSize, Stride, Padding);
}
