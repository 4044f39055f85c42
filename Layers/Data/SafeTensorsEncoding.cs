using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Tensorium.Data;

/// <summary>
/// Turns a tensor into the little-endian bytes of a safetensors element type and back. Same-type
/// elements are copied as they are; F16 and BF16 are widened exactly to float32 (or float64) on
/// load and narrowed with IEEE rounding to nearest, ties to even, on save, keeping infinities,
/// NaNs, signed zeros and subnormals. This is file I/O on host copies, like the copy it replaces.
/// </summary>
internal static class SafeTensorsEncoding
{
    /// <summary>Writes the elements of <paramref name="t"/> (any device and layout) to <paramref name="stream"/> as <paramref name="to"/>, row-major.</summary>
    public static void Write(Stream stream, Tensor t, SafeTensorsDType to)
    {
        if (to == SafeTensorsDTypeInfo.Of(t.DType))
        {
            WriteRaw(stream, t);
            return;
        }
        // Only floating tensors are converted (the caller checks): from float32 or float64.
        switch (to, t.DType)
        {
            case (SafeTensorsDType.F16, DType.Float32): Write(stream, ToF16(t.ToArray<float>())); break;
            case (SafeTensorsDType.F16, _): Write(stream, Array.ConvertAll(t.ToArray<double>(), d => (Half)d)); break;   // .NET rounds double to Half directly, once
            case (SafeTensorsDType.BF16, DType.Float32): Write(stream, Array.ConvertAll(t.ToArray<float>(), BFloat16Bits)); break;
            case (SafeTensorsDType.BF16, _): Write(stream, Array.ConvertAll(t.ToArray<double>(), BFloat16Bits)); break;
            case (SafeTensorsDType.F32, _): Write(stream, Array.ConvertAll(t.ToArray<double>(), d => (float)d)); break;
            default: Write(stream, Array.ConvertAll(t.ToArray<float>(), f => (double)f)); break;
        }
    }

    /// <summary>A CPU tensor of <paramref name="shape"/> from file bytes of type <paramref name="from"/>; F16 and BF16 become <paramref name="halfAs"/>.</summary>
    public static Tensor Decode(byte[] bytes, SafeTensorsDType from, int[] shape, DType halfAs)
    {
        switch (from)
        {
            case SafeTensorsDType.F32: return Tensor.FromBytes(bytes, DType.Float32, shape, Device.Cpu);
            case SafeTensorsDType.F64: return Tensor.FromBytes(bytes, DType.Float64, shape, Device.Cpu);
            case SafeTensorsDType.I32: return Tensor.FromBytes(bytes, DType.Int32, shape, Device.Cpu);
            case SafeTensorsDType.I64: return Tensor.FromBytes(bytes, DType.Int64, shape, Device.Cpu);
        }
        var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
        var floats = new float[halves.Length];
        if (from == SafeTensorsDType.F16)
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(halves), floats);
        else
            for (int i = 0; i < floats.Length; i++) floats[i] = BitConverter.Int32BitsToSingle(halves[i] << 16);   // bf16 is a float32's top half
        // Every F16 and BF16 value is a float32, and every float32 a float64: both widenings are exact.
        return halfAs == DType.Float64
            ? Tensor.FromSpan<double>(Array.ConvertAll(floats, f => (double)f), shape, Device.Cpu)
            : Tensor.FromSpan<float>(floats, shape, Device.Cpu);
    }

    /// <summary>The bfloat16 nearest to <paramref name="value"/> (ties to even), as bits.</summary>
    public static ushort BFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        // Rounding could carry a NaN's payload into the sign or make it infinity: keep the sign
        // and top payload bits, and set the quiet bit so a NaN with its payload only in the low
        // half stays a NaN.
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        // Add just under half a bfloat16 ulp, plus one when the kept part is odd, and truncate:
        // round to nearest, ties to even. A carry into the exponent is the right result (the
        // next power of two, or infinity past the largest finite bfloat16).
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>
    /// The bfloat16 nearest to <paramref name="value"/> (ties to even). Rounding to float32 first
    /// and then to bfloat16 can be wrong: a double just above a bfloat16 tie can round to exactly
    /// the tie as a float32, and the tie then goes to even. Rounding to float32 toward zero with
    /// the last bit set when inexact ("round to odd") keeps the information, and a second
    /// rounding from 24 bits to 8 is then correct.
    /// </summary>
    public static ushort BFloat16Bits(double value)
    {
        float nearest = (float)value;
        if (float.IsNaN(nearest) || nearest == value) return BFloat16Bits(nearest);
        uint bits = BitConverter.SingleToUInt32Bits(nearest);
        if (Math.Abs((double)nearest) > Math.Abs(value)) bits--;   // rounded away from zero: step back toward it
        return BFloat16Bits(BitConverter.UInt32BitsToSingle(bits | 1u));
    }

    private static Half[] ToF16(float[] values)
    {
        var halves = new Half[values.Length];
        TensorPrimitives.ConvertToHalf(values, halves);   // IEEE conversion: nearest, ties to even
        return halves;
    }

    /// <summary>ToArray makes a contiguous host copy in row-major order.</summary>
    private static void WriteRaw(Stream stream, Tensor t)
    {
        switch (t.DType)
        {
            case DType.Float32: Write(stream, t.ToArray<float>()); break;
            case DType.Float64: Write(stream, t.ToArray<double>()); break;
            case DType.Int32: Write(stream, t.ToArray<int>()); break;
            default: Write(stream, t.ToArray<long>()); break;
        }
    }

    private static void Write<T>(Stream stream, T[] values) where T : unmanaged => stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
}
