using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Ops;
using static Tensorium.Kernels.Gpu.BinaryOps;
using static Tensorium.Kernels.Gpu.UnaryOps;

namespace Tensorium;

/// <summary>
/// Elementwise ops on ILGPU: random fills (Philox), unary math, binary ops with broadcasting over
/// strided inputs, where. Unary and binary kernels are one generic kernel each, instantiated per
/// (element type, op struct) and kept in a table per element type, keyed by the op; the tables
/// are static fields like the other kernels, so they are built (and their kernels registered for
/// the PTX test) when this class is initialised. Every output is contiguous; inputs are read
/// through their strides (<see cref="ElementwiseLayout"/>), so no input is copied first.
/// </summary>
internal static class GpuElementwise
{
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, RandomDraw>> RandomFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, RandomDraw>(RandomFill.Fill<float, Casts>);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, RandomDraw>> RandomFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, RandomDraw>(RandomFill.Fill<double, Casts>);

    private static readonly Dictionary<UnaryOp, IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ElementwiseLayout, float, float>>> UnaryFloat32 =
        UnaryTable<float, GeluSingle, GeluGradSingle>();
    private static readonly Dictionary<UnaryOp, IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ElementwiseLayout, double, double>>> UnaryFloat64 =
        UnaryTable<double, GeluDouble, GeluGradDouble>();

    private static readonly Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseLayout>>> BinaryFloat32 =
        FloatBinaryTable<float, BinaryOps.Pow<float, Casts>>();
    private static readonly Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ElementwiseLayout>>> BinaryFloat64 =
        FloatBinaryTable<double, BinaryOps.Pow<double, Casts>>();
    private static readonly Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ElementwiseLayout>>> BinaryInt32 =
        BinaryTable<int, BinaryOps.Pow<int, Casts>>();
    private static readonly Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, ElementwiseLayout>>> BinaryInt64 =
        BinaryTable<long, BinaryOps.Pow<long, Casts>>();

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ElementwiseLayout, ArrayView<int>>> DivideInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ElementwiseLayout, ArrayView<int>>(Elementwise.DivideChecked);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, ElementwiseLayout, ArrayView<int>>> DivideInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, ElementwiseLayout, ArrayView<int>>(Elementwise.DivideChecked);

    private static readonly IlgpuKernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseLayout>> WhereFloat32 =
        IlgpuKernels.Auto<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseLayout>(Elementwise.Where);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ElementwiseLayout>> WhereFloat64 =
        IlgpuKernels.Auto<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ElementwiseLayout>(Elementwise.Where);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ElementwiseLayout>> WhereInt32 =
        IlgpuKernels.Auto<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ElementwiseLayout>(Elementwise.Where);
    private static readonly IlgpuKernel<Action<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, ArrayView<long>, ElementwiseLayout>> WhereInt64 =
        IlgpuKernels.Auto<Index1D, ArrayView<long>, ArrayView<long>, ArrayView<long>, ArrayView<long>, ElementwiseLayout>(Elementwise.Where);

    // ---- random ----------------------------------------------------------------------------

    public static void Random(IlgpuBackend backend, Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        string op = kind.ToString().ToLowerInvariant();
        var draw = new RandomDraw { Kind = kind, Count = dst.Count, Seed = seed, Offset = offset, A = a, B = b };
        if (draw.Count == 0) return;
        switch (dst.DType)
        {
            case DType.Float32: RandomFloat32.On(backend)(draw.Blocks, backend.View<float>(dst, op), draw); break;
            case DType.Float64: RandomFloat64.On(backend)(draw.Blocks, backend.View<double>(dst, op), draw); break;
            default: throw Unsupported(backend, op, dst.DType);
        }
    }

    // ---- unary -----------------------------------------------------------------------------

    public static void Unary(IlgpuBackend backend, UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        string name = op.ToString().ToLowerInvariant();
        if (y.Count == 0) return;
        var layout = ElementwiseLayout.Create(name, y.Layout.Shape, x.Layout.Strides);
        // The parameters rounded to the element type once, as the CPU's T.CreateTruncating(p0) does.
        switch (x.DType)
        {
            case DType.Float32: LaunchUnary(backend, UnaryFloat32[op], name, x, y, layout, (float)p0, (float)p1); break;
            case DType.Float64: LaunchUnary(backend, UnaryFloat64[op], name, x, y, layout, p0, p1); break;
            default: throw Unsupported(backend, name, x.DType);
        }
    }

    private static void LaunchUnary<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ElementwiseLayout, T, T>> kernel,
        string name, Tensor x, Tensor y, ElementwiseLayout layout, T p0, T p1) where T : unmanaged =>
        kernel.On(backend)(y.Count, backend.View<T>(x, name), backend.View<T>(y, name), layout, p0, p1);

    /// <summary>Every unary op for one float type; GELU and its gradient are given per type (their Phi differs).</summary>
    private static Dictionary<UnaryOp, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ElementwiseLayout, T, T>>> UnaryTable<T, TGelu, TGeluGrad>()
        where T : unmanaged, IFloatingPointIeee754<T> where TGelu : struct, IUnaryOp<T> where TGeluGrad : struct, IUnaryOp<T> => new()
    {
        [UnaryOp.Neg] = UnaryKernel<T, Neg<T>>(),
        [UnaryOp.Abs] = UnaryKernel<T, Abs<T>>(),
        [UnaryOp.Exp] = UnaryKernel<T, Exp<T>>(),
        [UnaryOp.Log] = UnaryKernel<T, Log<T>>(),
        [UnaryOp.Sqrt] = UnaryKernel<T, Sqrt<T>>(),
        [UnaryOp.Rsqrt] = UnaryKernel<T, Rsqrt<T>>(),
        [UnaryOp.Pow] = UnaryKernel<T, UnaryOps.Pow<T>>(),
        [UnaryOp.Tanh] = UnaryKernel<T, Tanh<T>>(),
        [UnaryOp.Sigmoid] = UnaryKernel<T, Sigmoid<T>>(),
        [UnaryOp.Relu] = UnaryKernel<T, Relu<T>>(),
        [UnaryOp.Gelu] = UnaryKernel<T, TGelu>(),
        [UnaryOp.GeluGrad] = UnaryKernel<T, TGeluGrad>(),
        [UnaryOp.Sin] = UnaryKernel<T, Sin<T>>(),
        [UnaryOp.Cos] = UnaryKernel<T, Cos<T>>(),
        [UnaryOp.Clamp] = UnaryKernel<T, Clamp<T>>(),
        [UnaryOp.Sign] = UnaryKernel<T, Sign<T>>(),
    };

    private static IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ElementwiseLayout, T, T>> UnaryKernel<T, TOp>()
        where T : unmanaged where TOp : struct, IUnaryOp<T> =>
        IlgpuKernels.Auto<Index1D, ArrayView<T>, ArrayView<T>, ElementwiseLayout, T, T>(Elementwise.Unary<T, TOp>);

    // ---- binary ----------------------------------------------------------------------------

    public static void Binary(IlgpuBackend backend, BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        string name = op.ToString().ToLowerInvariant();
        if (y.Count == 0) return;
        var layout = ElementwiseLayout.Create(name, y.Layout.Shape, a.Layout.Strides, b.Layout.Strides);
        switch (y.DType)
        {
            case DType.Float32: LaunchBinary(backend, BinaryFloat32[op], name, a, b, y, layout); break;
            case DType.Float64: LaunchBinary(backend, BinaryFloat64[op], name, a, b, y, layout); break;
            case DType.Int32 when op == BinaryOp.Div: DivideChecked(backend, DivideInt32, a, b, y, layout); break;
            case DType.Int64 when op == BinaryOp.Div: DivideChecked(backend, DivideInt64, a, b, y, layout); break;
            case DType.Int32: LaunchBinary(backend, BinaryInt32[op], name, a, b, y, layout); break;
            case DType.Int64: LaunchBinary(backend, BinaryInt64[op], name, a, b, y, layout); break;
            default: throw Unsupported(backend, name, y.DType);
        }
    }

    private static void LaunchBinary<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>> kernel,
        string name, Tensor a, Tensor b, Tensor y, ElementwiseLayout layout) where T : unmanaged =>
        kernel.On(backend)(y.Count, backend.View<T>(a, name), backend.View<T>(b, name), backend.View<T>(y, name), layout);

    /// <summary>
    /// Integer division, which the CPU lets throw (C# integer a / b): the kernel flags a zero
    /// divisor or minimum / -1 in a one-int status buffer, read back here to throw the same
    /// exception. Reading it waits for the kernel, which is the price of C#'s semantics.
    /// </summary>
    private static void DivideChecked<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout, ArrayView<int>>> kernel,
        Tensor a, Tensor b, Tensor y, ElementwiseLayout layout) where T : unmanaged
    {
        const string name = "div";
        using var status = backend.Accelerator.Allocate1D<int>(1);
        status.MemSetToZero();
        kernel.On(backend)(y.Count, backend.View<T>(a, name), backend.View<T>(b, name), backend.View<T>(y, name), layout, status.View);
        switch (status.GetAsArray1D()[0])
        {
            case 1: throw new DivideByZeroException($"div: integer division by zero ({y.DType.Name()} on {backend.Device}).");
            case 2: throw new OverflowException($"div: integer division overflows ({y.DType.Name()} minimum / -1 on {backend.Device}).");
        }
    }

    /// <summary>
    /// The binary ops every element type shares (all but division). Pow comes from the caller,
    /// who names the element type: its casts to and from double are <see cref="Casts"/>' for that type.
    /// </summary>
    private static Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>>> BinaryTable<T, TPow>()
        where T : unmanaged, INumber<T> where TPow : struct, IBinaryOp<T> => new()
    {
        [BinaryOp.Add] = BinaryKernel<T, Add<T>>(),
        [BinaryOp.Sub] = BinaryKernel<T, Sub<T>>(),
        [BinaryOp.Mul] = BinaryKernel<T, Mul<T>>(),
        [BinaryOp.Maximum] = BinaryKernel<T, Maximum<T>>(),
        [BinaryOp.Minimum] = BinaryKernel<T, Minimum<T>>(),
        [BinaryOp.Pow] = BinaryKernel<T, TPow>(),
        [BinaryOp.Equal] = BinaryKernel<T, Equal<T>>(),
        [BinaryOp.NotEqual] = BinaryKernel<T, NotEqual<T>>(),
        [BinaryOp.Less] = BinaryKernel<T, Less<T>>(),
        [BinaryOp.LessEqual] = BinaryKernel<T, LessEqual<T>>(),
        [BinaryOp.Greater] = BinaryKernel<T, Greater<T>>(),
        [BinaryOp.GreaterEqual] = BinaryKernel<T, GreaterEqual<T>>(),
        [BinaryOp.ReluBackward] = BinaryKernel<T, ReluBackward<T>>(),
    };

    /// <summary>The float types' table: the shared ops plus plain IEEE division.</summary>
    private static Dictionary<BinaryOp, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>>> FloatBinaryTable<T, TPow>()
        where T : unmanaged, IFloatingPointIeee754<T> where TPow : struct, IBinaryOp<T>
    {
        var table = BinaryTable<T, TPow>();
        table[BinaryOp.Div] = BinaryKernel<T, Div<T>>();
        return table;
    }

    private static IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>> BinaryKernel<T, TOp>()
        where T : unmanaged where TOp : struct, IBinaryOp<T> =>
        IlgpuKernels.Auto<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>(Elementwise.Binary<T, TOp>);

    // ---- where -----------------------------------------------------------------------------

    public static void Where(IlgpuBackend backend, Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        const string name = "where";
        if (y.Count == 0) return;
        var layout = ElementwiseLayout.Create(name, y.Layout.Shape, cond.Layout.Strides, a.Layout.Strides, b.Layout.Strides);
        switch (y.DType)
        {
            case DType.Float32: LaunchWhere(backend, WhereFloat32, cond, a, b, y, layout); break;
            case DType.Float64: LaunchWhere(backend, WhereFloat64, cond, a, b, y, layout); break;
            case DType.Int32: LaunchWhere(backend, WhereInt32, cond, a, b, y, layout); break;
            case DType.Int64: LaunchWhere(backend, WhereInt64, cond, a, b, y, layout); break;
            default: throw Unsupported(backend, name, y.DType);
        }
    }

    private static void LaunchWhere<T>(IlgpuBackend backend, IlgpuKernel<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ElementwiseLayout>> kernel,
        Tensor cond, Tensor a, Tensor b, Tensor y, ElementwiseLayout layout) where T : unmanaged =>
        kernel.On(backend)(y.Count, backend.View<T>(cond, "where"), backend.View<T>(a, "where"), backend.View<T>(b, "where"), backend.View<T>(y, "where"), layout);

    private static NotSupportedException Unsupported(IlgpuBackend backend, string op, DType dtype) =>
        new($"{op}: dtype {dtype.Name()} is not supported on {backend.Device} for this op.");
}
