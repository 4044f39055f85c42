using System.Numerics;
using Tensorium.Kernels.Cpu;
using static Tensorium.CpuTensor;

namespace Tensorium;

/// <summary>The CPU's indexing ops: gather, scatter-add, index-select, index-add, one-hot (int64 indices).</summary>
internal static unsafe class CpuIndexing
{
    public static void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        DTypeDispatch.Any(x.DType, new GatherOp(x, index, y, outer, xAxis, indexAxis, inner));

    private readonly struct GatherOp(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) : IAnyDTypeOp
    {
        public string Name => "gather";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Indexing.Gather(Ptr<T>(x), Ptr<long>(index), Ptr<T>(y), outer, xAxis, indexAxis, inner);
    }

    public static void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        DTypeDispatch.Any(src.DType, new ScatterAddOp(src, index, y, outer, yAxis, indexAxis, inner));

    private readonly struct ScatterAddOp(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) : IAnyDTypeOp
    {
        public string Name => "scatter_add";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Indexing.ScatterAdd(Ptr<T>(src), Ptr<long>(index), Ptr<T>(y), outer, yAxis, indexAxis, inner);
    }

    public static void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        DTypeDispatch.Any(x.DType, new IndexSelectOp(x, index, y, outer, xAxis, count, inner));

    private readonly struct IndexSelectOp(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) : IAnyDTypeOp
    {
        public string Name => "index_select";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Indexing.IndexSelect(Ptr<T>(x), Ptr<long>(index), Ptr<T>(y), outer, xAxis, count, inner);
    }

    public static void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) =>
        DTypeDispatch.Any(src.DType, new IndexAddOp(src, index, y, outer, yAxis, count, inner));

    private readonly struct IndexAddOp(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) : IAnyDTypeOp
    {
        public string Name => "index_add";
        public void Run<T>() where T : unmanaged, INumber<T> =>
            Indexing.IndexAdd(Ptr<T>(src), Ptr<long>(index), Ptr<T>(y), outer, yAxis, count, inner);
    }

    public static void OneHot(Tensor index, Tensor y, int rows, int classes) =>
        DTypeDispatch.Any(y.DType, new OneHotOp(index, y, rows, classes));

    private readonly struct OneHotOp(Tensor index, Tensor y, int rows, int classes) : IAnyDTypeOp
    {
        public string Name => "one_hot";
        public void Run<T>() where T : unmanaged, INumber<T> => Indexing.OneHot(Ptr<long>(index), Ptr<T>(y), rows, classes);
    }
}
