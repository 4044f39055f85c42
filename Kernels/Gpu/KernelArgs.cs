using System.Runtime.InteropServices;

namespace Tensorium.Kernels.Gpu;

/// <summary>
/// The arguments of one kernel launch, packed as raw bytes the way both OpenCL
/// (clSetKernelArg: size and pointer per argument) and CUDA (an array of pointers to each
/// value) take them. Buffers are 8-byte handles (cl_mem or CUdeviceptr).
/// </summary>
public sealed class KernelArgs
{
    private readonly byte[] _data = new byte[1024];
    private readonly List<(int Offset, int Size)> _slots = new();
    private int _used;

    /// <summary>How many arguments were added.</summary>
    public int Count => _slots.Count;

    /// <summary>The bytes of argument <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> this[int index] => _data.AsSpan(_slots[index].Offset, _slots[index].Size);

    /// <summary>Pins the packed values for the duration of a launch call.</summary>
    public unsafe void WithPointers(Action<nint[], int[]> use)
    {
        fixed (byte* p = _data)
        {
            var pointers = new nint[_slots.Count];
            var sizes = new int[_slots.Count];
            for (int i = 0; i < _slots.Count; i++)
            {
                pointers[i] = (nint)(p + _slots[i].Offset);
                sizes[i] = _slots[i].Size;
            }
            use(pointers, sizes);
        }
    }

    private KernelArgs Add<T>(T value) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        int offset = (_used + 7) & ~7;   // every value 8-byte aligned, as both APIs read it in place
        if (offset + size > _data.Length) throw new ArgumentException("gpu: kernel arguments exceed 1024 bytes.");
        MemoryMarshal.Write(_data.AsSpan(offset, size), in value);
        _slots.Add((offset, size));
        _used = offset + size;
        return this;
    }

    /// <summary>A device buffer (a GLOBAL pointer parameter).</summary>
    public KernelArgs Buffer(nint handle) => Add((long)handle);

    /// <summary>An int parameter.</summary>
    public KernelArgs Int(int value) => Add(value);

    /// <summary>An i64 parameter.</summary>
    public KernelArgs Long(long value) => Add(value);

    /// <summary>A float parameter.</summary>
    public KernelArgs Float(float value) => Add(value);

    /// <summary>A double parameter.</summary>
    public KernelArgs Double(double value) => Add(value);

    /// <summary>A REAL parameter: float or double as the kernel was compiled.</summary>
    public KernelArgs Real(double value, bool isDouble) => isDouble ? Double(value) : Float((float)value);

    /// <summary>A dims_t parameter (up to 8 ints passed by value; missing entries are 1 for shapes, 0 for strides).</summary>
    public KernelArgs Dims(ReadOnlySpan<int> values, int fill)
    {
        if (values.Length > Dims8.Rank) throw new ArgumentException($"gpu: rank {values.Length} exceeds the kernels' limit of {Dims8.Rank}.");
        var d = new Dims8();
        for (int i = 0; i < Dims8.Rank; i++) d[i] = i < values.Length ? values[i] : fill;
        return Add(d);
    }
}

/// <summary>The host image of the prelude's dims_t: eight ints.</summary>
[System.Runtime.CompilerServices.InlineArray(Rank)]
public struct Dims8
{
    /// <summary>MAX_RANK in the prelude.</summary>
    public const int Rank = 8;
    private int _element0;
}
