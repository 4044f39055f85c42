namespace Tensorium;

/// <summary>Element type of a tensor.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float: the main type for training.</summary>
    Float32,
    /// <summary>64-bit IEEE float: exact enough for gradient checks (CPU).</summary>
    Float64,
    /// <summary>32-bit signed integer (labels, indices).</summary>
    Int32,
    /// <summary>64-bit signed integer (labels, indices, argmax results).</summary>
    Int64,
}

/// <summary>Facts about each <see cref="DType"/>.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.Float32 or DType.Int32 => 4,
        _ => 8,
    };

    /// <summary>True for Float32 and Float64.</summary>
    public static bool IsFloating(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>The PyTorch-style name, e.g. "float32".</summary>
    public static string Name(this DType dtype) => dtype.ToString().ToLowerInvariant();

    /// <summary>The <see cref="DType"/> of a CLR element type.</summary>
    public static DType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(long) ? DType.Int64 :
        throw new NotSupportedException($"Tensor element type {typeof(T).Name} is not supported: expected float, double, int or long.");
}
