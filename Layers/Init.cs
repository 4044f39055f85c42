namespace Tensorium.Layers;

/// <summary>
/// Weight initialisers. fanIn/fanOut are computed like PyTorch: for a [out, in, kh, kw] weight,
/// fanIn = in*kh*kw and fanOut = out*kh*kw.
/// </summary>
public static class Init
{
    /// <summary>(fanIn, fanOut) of a weight shape.</summary>
    public static (int FanIn, int FanOut) Fans(int[] shape)
    {
        if (shape.Length < 2) return (shape.Length == 1 ? shape[0] : 1, shape.Length == 1 ? shape[0] : 1);
        int receptive = shape[2..].Aggregate(1, (a, b) => a * b);
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)) (Keras' default for Dense and Conv2d).</summary>
    public static Tensor GlorotUniform(int[] shape, Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(shape);
        double a = Math.Sqrt(6.0 / (fanIn + fanOut));
        return Tensor.Uniform(shape, -a, a, generator);
    }

    /// <summary>Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)).</summary>
    public static Tensor GlorotNormal(int[] shape, Generator? generator = null)
    {
        var (fanIn, fanOut) = Fans(shape);
        return Tensor.Normal(shape, 0, Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    /// <summary>He/Kaiming uniform for ReLU: U(-a, a), a = sqrt(6 / fanIn).</summary>
    public static Tensor HeUniform(int[] shape, Generator? generator = null)
    {
        double a = Math.Sqrt(6.0 / Fans(shape).FanIn);
        return Tensor.Uniform(shape, -a, a, generator);
    }

    /// <summary>He/Kaiming normal for ReLU: N(0, 2 / fanIn).</summary>
    public static Tensor HeNormal(int[] shape, Generator? generator = null) =>
        Tensor.Normal(shape, 0, Math.Sqrt(2.0 / Fans(shape).FanIn), generator);

    /// <summary>
    /// PyTorch's default for Linear and Conv2d weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn))
    /// (kaiming_uniform with a = sqrt(5) works out to exactly this bound).
    /// </summary>
    public static Tensor TorchDefault(int[] shape, int fanIn, Generator? generator = null)
    {
        double bound = 1 / Math.Sqrt(fanIn);
        return Tensor.Uniform(shape, -bound, bound, generator);
    }
}
