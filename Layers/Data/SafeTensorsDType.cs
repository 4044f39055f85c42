namespace Tensorium.Data;

/// <summary>
/// The element types a safetensors file can hold that Tensorium reads and writes, by their
/// names in the file's header ("F16", "BF16", ...). F16 and BF16 have no tensor type of their
/// own here: they are widened to float32 (or float64) on load, and narrowed from it on save.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE 754 binary16: 1 sign, 5 exponent and 10 mantissa bits (PyTorch's <c>float16</c>).</summary>
    F16,
    /// <summary>bfloat16: the top 16 bits of a float32, 1 sign, 8 exponent and 7 mantissa bits (PyTorch's <c>bfloat16</c>).</summary>
    BF16,
    /// <summary>IEEE 754 binary32 (<see cref="DType.Float32"/>).</summary>
    F32,
    /// <summary>IEEE 754 binary64 (<see cref="DType.Float64"/>).</summary>
    F64,
    /// <summary>32-bit signed integer (<see cref="DType.Int32"/>).</summary>
    I32,
    /// <summary>64-bit signed integer (<see cref="DType.Int64"/>).</summary>
    I64,
}

/// <summary>Facts about each <see cref="SafeTensorsDType"/>.</summary>
public static class SafeTensorsDTypeInfo
{
    /// <summary>Bytes per element in the file.</summary>
    public static int SizeInBytes(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.F32 or SafeTensorsDType.I32 => 4,
        _ => 8,
    };

    /// <summary>True for F16, BF16, F32 and F64.</summary>
    public static bool IsFloating(this SafeTensorsDType dtype) => dtype is not (SafeTensorsDType.I32 or SafeTensorsDType.I64);

    /// <summary>The file type a tensor of <paramref name="dtype"/> is stored as by default (its exact equivalent).</summary>
    public static SafeTensorsDType Of(DType dtype) => dtype switch
    {
        DType.Float32 => SafeTensorsDType.F32,
        DType.Float64 => SafeTensorsDType.F64,
        DType.Int32 => SafeTensorsDType.I32,
        DType.Int64 => SafeTensorsDType.I64,
        _ => throw new NotSupportedException($"SafeTensors: dtype {dtype.Name()} has no safetensors code."),
    };

    /// <summary>Parses a header's dtype name ("F16", "BF16", "F32", "F64", "I32", "I64"); false for any other.</summary>
    public static bool TryParse(string? code, out SafeTensorsDType dtype)
    {
        // Enum.TryParse would also take "f16", "0" or " F16": the spec's names are exact.
        foreach (var candidate in Enum.GetValues<SafeTensorsDType>())
            if (code == candidate.ToString())
            {
                dtype = candidate;
                return true;
            }
        dtype = default;
        return false;
    }
}
