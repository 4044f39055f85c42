using System.Buffers;
using System.Runtime.InteropServices;
using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>
/// An n-dimensional array on a device: shared, reference-counted <see cref="Storage"/> seen
/// through a <see cref="Layout"/> (shape, strides, offset). Views share storage; disposing a
/// tensor releases its reference, and the memory goes back to the pool with the last one.
/// Differentiable operations on tensors live in the Autograd project (same namespace).
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;

    /// <summary>Wraps storage in a layout. Takes over one reference to <paramref name="storage"/>.</summary>
    internal Tensor(Storage storage, Layout layout)
    {
        _storage = storage;
        Layout = layout;
        TensorScope.Register(this);
    }

    /// <summary>A new contiguous, uninitialised tensor.</summary>
    internal static Tensor Empty(int[] shape, DType dtype, Device device)
    {
        // Copy the shape: callers pass their own arrays (Zeros(shape), FromArray(data, shape)), and a
        // later change to that array must not change this tensor's shape under its storage.
        shape = (int[])shape.Clone();
        return new(new Storage(device, dtype, Layout.ElementCount(shape, "empty")), Layout.Contiguous(shape));
    }

    /// <summary>A new tensor over the same storage with another layout (a view).</summary>
    internal Tensor View(Layout layout, string op)
    {
        var storage = StorageFor(op);
        storage.Retain();
        return new Tensor(storage, layout);
    }

    /// <summary>
    /// Makes this tensor see <paramref name="source"/>'s storage through its layout, so it takes
    /// on the source's shape, dtype, device and values while staying the same object (what
    /// Tensor.Set builds on). Its own storage reference is released. Not for a tensor that other
    /// threads are using at the same time.
    /// </summary>
    internal void ShareStorageOf(Tensor source, string op)
    {
        StorageFor(op);                        // this tensor must still be alive
        var storage = source.StorageFor(op);
        storage.Retain();                      // before releasing ours: source may share it
        var old = Interlocked.Exchange(ref _storage, storage);
        Layout = source.Layout;
        old?.Release();
    }

    /// <summary>Shape, strides and offset.</summary>
    public Layout Layout { get; private set; }
    /// <summary>Size of each dimension (a copy).</summary>
    public int[] Shape => (int[])Layout.Shape.Clone();
    /// <summary>Number of dimensions.</summary>
    public int Rank => Layout.Rank;
    /// <summary>Number of elements.</summary>
    public int Count => Layout.Count;
    /// <summary>Element type.</summary>
    public DType DType => StorageFor("dtype").DType;
    /// <summary>Where the data lives.</summary>
    public Device Device => StorageFor("device").Device;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _storage == null;

    /// <summary>
    /// Whether operations on this tensor record on the tape so gradients reach it. Only float32
    /// and float64 tensors can require a gradient (integers have no derivative).
    /// </summary>
    public bool RequiresGrad
    {
        get;
        set
        {
            if (value && !StorageFor("requires_grad").DType.IsFloating())
                throw new InvalidOperationException($"requires_grad: got a tensor of dtype {DType.Name()}; expected a floating dtype (float32 or float64): only those can require gradients.");
            field = value;
        }
    }
    /// <summary>The accumulated gradient after <c>Backward()</c>; owned by this tensor.</summary>
    public Tensor? Grad { get; set; }
    /// <summary>An optional name shown when printing the tape.</summary>
    public string? Name { get; set; }
    /// <summary>
    /// True for tensors another object owns and disposes (a parameter's gradient, a layer's
    /// weight, an optimizer's state buffer, a dataset's tensors): an open <see cref="TensorScope"/>
    /// leaves them alone when it closes. Whoever sets it takes on disposing the tensor.
    /// </summary>
    public bool OwnedByParent { get; set; }
    /// <summary>The tape entry that produced this tensor (set by the Autograd layer), null for leaves.</summary>
    internal IRecordedOp? Producer { get; set; }

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => Layout.Shape[NormalizeDim(dim, Rank, "size")];

    /// <summary>The storage, or an error naming <paramref name="op"/> when the tensor was disposed.</summary>
    internal Storage StorageFor(string op) =>
        _storage ?? throw new ObjectDisposedException(nameof(Tensor), $"{op}: the tensor was used after Dispose().");

    internal IBackend Backend(string op) => StorageFor(op).Device.Backend;

    /// <summary>Releases this tensor's reference to its storage (and its gradient). Safe to call twice.</summary>
    public void Dispose()
    {
        var storage = Interlocked.Exchange(ref _storage, null);
        storage?.Release();
        Grad?.Dispose();
        Grad = null;
        // Producer is kept on purpose: disposing a handle releases memory, not the graph. Ops such
        // as Embedding and Stack dispose their intermediates before Backward, and clearing the link
        // made Backward treat them as leaves, so no gradient reached the real inputs.
    }

    /// <summary>Turns a possibly negative dimension into an index, or throws naming the op.</summary>
    public static int NormalizeDim(int dim, int rank, string op)
    {
        int d = dim < 0 ? dim + rank : dim;
        return d >= 0 && d < Math.Max(rank, 1) ? d
            : throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a tensor of rank {rank} (expected {-Math.Max(rank, 1)}..{Math.Max(rank, 1) - 1}).");
    }

    // ---- Creation -------------------------------------------------------------------------

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        CheckShape(shape, "full");
        var t = Empty(shape, dtype, device ?? Device.Cpu);
        t.Backend("full").Fill(t, value);
        return t;
    }

    /// <summary>A scalar (rank-0) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>start, start+step, ... below end (like torch.arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || double.IsNaN(start + end + step))
            throw new ArgumentException($"arange: expected a finite, non-zero step, got start {start}, end {end}, step {step}.");
        // Count in double: a cast to int saturates, so arange(0, 3e9) would quietly make 2^31 - 1 values.
        double n = Math.Max(0, Math.Ceiling((end - start) / step));
        if (n > int.MaxValue) throw Layout.TooManyElements("arange", [(long)n]);
        var t = Empty([(int)n], dtype, device ?? Device.Cpu);
        t.Backend("arange").Arange(t, start, step);
        return t;
    }

    /// <summary>0, 1, ..., end-1.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (default: 1-d).</summary>
    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged => FromSpan<T>(data, shape.Length == 0 ? [data.Length] : shape);

    /// <summary>A tensor holding a copy of <paramref name="data"/> on <paramref name="device"/>.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape, Device? device = null) where T : unmanaged
    {
        CheckShape(shape, "from_array");
        int count = Layout.ElementCount(shape, "from_array");
        if (count != data.Length)
            throw new ArgumentException($"from_array: {data.Length} values cannot fill shape {Layout.Format(shape)} ({count} elements).");
        var t = Empty(shape, DTypeInfo.Of<T>(), device ?? Device.Cpu);
        t.Backend("from_array").Upload(t.StorageFor("from_array"), MemoryMarshal.AsBytes(data));
        return t;
    }

    /// <summary>
    /// A tensor holding a copy of <paramref name="littleEndianBytes"/>: the raw elements of
    /// <paramref name="dtype"/> in row-major order and little-endian byte order (as a
    /// safetensors file stores them), on <paramref name="device"/> (default: the CPU).
    /// </summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> littleEndianBytes, DType dtype, int[] shape, Device? device = null)
    {
        const string op = "from_bytes";
        ArgumentNullException.ThrowIfNull(shape);
        CheckShape(shape, op);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException($"{op}: this machine is big-endian; only little-endian hosts can read little-endian bytes directly.");
        int count = Layout.ElementCount(shape, op);
        long expected = (long)count * dtype.SizeInBytes();
        if (littleEndianBytes.Length != expected)
            throw new ArgumentException($"{op}: {littleEndianBytes.Length} bytes cannot fill shape {Layout.Format(shape)} of {dtype.Name()} ({count} elements, {expected} bytes).");
        var t = Empty(shape, dtype, device ?? Device.Cpu);
        try
        {
            t.Backend(op).Upload(t.StorageFor(op), littleEndianBytes);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        return t;
    }

    /// <summary>
    /// A new tensor of <paramref name="shape"/> whose elements <paramref name="action"/> writes,
    /// in row-major order, into a zeroed span (like <see cref="string.Create{TState}(int, TState, System.Buffers.SpanAction{char, TState})"/>).
    /// On the CPU the span is the tensor's own memory, so a large dataset is converted without a
    /// staging copy; on other devices it is a host buffer uploaded once. The span is only valid
    /// during the call.
    /// </summary>
    public static unsafe Tensor Create<T, TState>(int[] shape, TState state, SpanAction<T, TState> action, Device? device = null) where T : unmanaged
    {
        const string op = "create";
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(action);
        CheckShape(shape, op);
        var dtype = DTypeInfo.Of<T>();
        int count = Layout.ElementCount(shape, op);
        device ??= Device.Cpu;
        if (device.Kind != DeviceKind.Cpu)
        {
            var staging = new T[count];
            action(staging, state);
            return FromSpan<T>(staging, shape, device);
        }
        var t = Empty(shape, dtype, device);
        try
        {
            var span = new Span<T>((void*)t.StorageFor(op).Handle, count);
            span.Clear();
            action(span, state);
        }
        catch
        {
            t.Dispose();
            throw;
        }
        return t;
    }

    /// <summary>A 2-d tensor from a rectangular array.</summary>
    public static Tensor FromArray<T>(T[,] data) where T : unmanaged =>
        FromSpan<T>(MemoryMarshal.CreateReadOnlySpan(ref data[0, 0], data.Length), [data.GetLength(0), data.GetLength(1)]);

    /// <summary>Uniform numbers in [low, high) from <paramref name="generator"/> (default: <see cref="Generator.Default"/>).</summary>
    public static Tensor Uniform(int[] shape, double low = 0, double high = 1, Generator? generator = null, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, RandomKind.Uniform, low, high, 1, generator, dtype, device);

    /// <summary>Normally distributed numbers with the given mean and standard deviation.</summary>
    public static Tensor Normal(int[] shape, double mean = 0, double std = 1, Generator? generator = null, DType dtype = DType.Float32, Device? device = null) =>
        Random(shape, RandomKind.Normal, mean, std, 2, generator, dtype, device);

    /// <summary>Ones with probability <paramref name="p"/>, zeros otherwise.</summary>
    public static Tensor Bernoulli(int[] shape, double p, Generator? generator = null, DType dtype = DType.Float32, Device? device = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"bernoulli: expected a probability in [0, 1], got {p}.");
        return Random(shape, RandomKind.Bernoulli, p, 0, 1, generator, dtype, device);
    }

    private static Tensor Random(int[] shape, RandomKind kind, double a, double b, int wordsPerValue, Generator? generator, DType dtype, Device? device)
    {
        string op = kind.ToString().ToLowerInvariant();
        CheckShape(shape, op);
        if (!dtype.IsFloating()) throw new ArgumentException($"{op}: expected a floating dtype, got {dtype.Name()}.");
        var g = generator ?? Generator.Default;
        var t = Empty(shape, dtype, device ?? Device.Cpu);
        t.Backend(op).Random(t, kind, g.Seed, g.Advance((long)t.Count * wordsPerValue), a, b);
        return t;
    }

    internal static void CheckShape(int[] shape, string op)
    {
        Layout.ElementCount(shape, op);   // negative sizes and counts past int.MaxValue, naming the op
    }

    // ---- Reading back ----------------------------------------------------------------------

    /// <summary>Copies the elements to a new array in row-major order; T must match the dtype.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var dtype = StorageFor("to_array").DType;   // names the op when used after Dispose
        if (DTypeInfo.Of<T>() != dtype)
            throw new InvalidOperationException($"to_array: tensor has dtype {dtype.Name()}, asked for {DTypeInfo.Of<T>().Name()}.");
        var result = new T[Count];
        using var c = AsContiguous("to_array");
        Backend("to_array").Download(c, MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>The elements as doubles, whatever the dtype (handy for printing and tests).</summary>
    public double[] ToDoubleArray() => DType switch
    {
        DType.Float32 => Array.ConvertAll(ToArray<float>(), v => (double)v),
        DType.Float64 => ToArray<double>(),
        DType.Int32 => Array.ConvertAll(ToArray<int>(), v => (double)v),
        _ => Array.ConvertAll(ToArray<long>(), v => (double)v),
    };

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Count != 1) throw new InvalidOperationException($"item: expected a tensor with one element, got shape {Layout.Format(Layout.Shape)}.");
        return ToDoubleArray()[0];
    }

    /// <summary>
    /// A dense tensor with these values for a kernel to read: a new handle on this one when it is
    /// already contiguous (at any offset) and of <paramref name="dtype"/>, else a contiguous copy.
    /// Not recorded on the tape.
    /// </summary>
    internal Tensor AsContiguous(string op, DType? dtype = null) =>
        Layout.IsContiguous && (dtype == null || dtype == StorageFor(op).DType) ? View(Layout, op) : ContiguousCopy(op, dtype);

    /// <summary>A contiguous copy with the same shape (always copies; <see cref="AsContiguous"/> and the Autograd layer's Contiguous() avoid it when they can).</summary>
    internal Tensor ContiguousCopy(string op, DType? dtype = null)
    {
        var storage = StorageFor(op);   // a disposed tensor fails here, naming the op (not "dtype")
        var result = Empty(Layout.Shape.ToArray(), dtype ?? storage.DType, storage.Device);
        Backend(op).Copy(this, result);
        return result;
    }

    /// <summary>
    /// Overwrites this tensor's elements with <paramref name="source"/>'s (same shape, or
    /// broadcastable to it; converted to this dtype). In place and not recorded on the tape:
    /// use it for parameter updates under Tape.NoGrad().
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        const string op = "copy_from";
        // StorageFor(op): use after Dispose names this op rather than "device".
        if (source.StorageFor(op).Device != StorageFor(op).Device)
            throw new ArgumentException($"{op}: source is on {source.Device}, destination on {Device}.");
        var shape = Layout.Shape;
        bool broadcastable = source.Rank <= Rank && Enumerable.Range(0, source.Rank)
            .All(i => source.Layout.Shape[i] == 1 || source.Layout.Shape[i] == shape[i + Rank - source.Rank]);
        if (!broadcastable)
            throw new ArgumentException($"{op}: source shape {Layout.Format(source.Layout.Shape)} does not broadcast to {Layout.Format(shape)}.");
        using var expanded = source.View(source.Layout.Expand(shape.ToArray()), op);
        WriteInPlace(op, this);   // refuses a tracked tensor while recording; tells Backward the values changed
        Backend(op).Copy(expanded, this);
    }

    /// <inheritdoc />
    public override string ToString() => _storage == null ? "tensor(<disposed>)" : TensorFormatter.Format(this);
}
