using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Gather, scatter-add, index-select, index-add, one-hot. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuIndexing
{
    public static void Gather(IlgpuBackend backend, Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        throw new NotSupportedException("gather: not on ILGPU yet");

    public static void ScatterAdd(IlgpuBackend backend, Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        throw new NotSupportedException("scatter_add: not on ILGPU yet");

    public static void IndexSelect(IlgpuBackend backend, Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        throw new NotSupportedException("index_select: not on ILGPU yet");

    public static void IndexAdd(IlgpuBackend backend, Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) =>
        throw new NotSupportedException("index_add: not on ILGPU yet");

    public static void OneHot(IlgpuBackend backend, Tensor index, Tensor y, int rows, int classes) =>
        throw new NotSupportedException("one_hot: not on ILGPU yet");
}
