using System.Numerics;
using Tensorium.Kernels.Cpu;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's indexing ops: gather, scatter-add, index-select, index-add, one-hot (int64 indices).</summary>
internal static unsafe class CpuIndexing
{
    private enum Kind { Gather, ScatterAdd, IndexSelect, IndexAdd }

    public static void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        DTypeDispatch.Any(x.DType, new AxisOp(Kind.Gather, x, index, y, outer, xAxis, indexAxis, inner));

    public static void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        DTypeDispatch.Any(src.DType, new AxisOp(Kind.ScatterAdd, src, index, y, outer, yAxis, indexAxis, inner));

    public static void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        DTypeDispatch.Any(x.DType, new AxisOp(Kind.IndexSelect, x, index, y, outer, xAxis, count, inner));

    public static void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) =>
        DTypeDispatch.Any(src.DType, new AxisOp(Kind.IndexAdd, src, index, y, outer, yAxis, count, inner));

    /// <summary>
    /// The four ops that move values along one axis of tensors seen as [outer, axis, inner]:
    /// <paramref name="axis"/> is the big side's length (x's or y's), <paramref name="indexAxis"/>
    /// the index's (or count of indices). One body, the kind switched once per call.
    /// </summary>
    private readonly struct AxisOp(Kind kind, Tensor a, Tensor index, Tensor y, int outer, int axis, int indexAxis, int inner) : IAnyDTypeOp
    {
        public string Name => kind switch
        {
            Kind.Gather => "gather", Kind.ScatterAdd => "scatter_add", Kind.IndexSelect => "index_select", _ => "index_add",
        };

        public void Run<T>() where T : unmanaged, INumber<T>
        {
            T* pa = Ptr<T>(a), py = Ptr<T>(y);
            long* pi = Ptr<long>(index);
            switch (kind)
            {
                case Kind.Gather: Indexing.Gather(pa, pi, py, outer, axis, indexAxis, inner); break;
                case Kind.ScatterAdd: Indexing.ScatterAdd(pa, pi, py, outer, axis, indexAxis, inner); break;
                case Kind.IndexSelect: Indexing.IndexSelect(pa, pi, py, outer, axis, indexAxis, inner); break;
                default: Indexing.IndexAdd(pa, pi, py, outer, axis, indexAxis, inner); break;
            }
        }
    }

    public static void OneHot(Tensor index, Tensor y, int rows, int classes) =>
        DTypeDispatch.Any(y.DType, new OneHotOp(index, y, rows, classes));

    private readonly struct OneHotOp(Tensor index, Tensor y, int rows, int classes) : IAnyDTypeOp
    {
        public string Name => "one_hot";
        public void Run<T>() where T : unmanaged, INumber<T> => Indexing.OneHot(Ptr<long>(index), Ptr<T>(y), rows, classes);
    }
}
