using System.Runtime.InteropServices;
using Tensorium.Kernels.Gpu;

namespace Tensorium;

// Indexing (indexing.gpu): gather, scatter-add, index-select, index-add, one-hot. Indices arrive
// checked by the ops.
internal sealed partial class GpuBackend
{
    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) =>
        LaunchIndexing("gather", x, index, y, outer * indexAxis * inner, xAxis, indexAxis, inner);

    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) =>
        LaunchIndexing("scatter_add", src, index, y, outer * yAxis * inner, yAxis, indexAxis, inner);

    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) =>
        LaunchIndexing("index_select", x, index, y, outer * count * inner, xAxis, count, inner);

    /// <summary>
    /// Runs indexing.gpu's kernel named
    /// <paramref name="op"/> with one work-item per output element; the kernels share the argument
    /// list (source, index, y, n, axis, index count, inner).
    /// </summary>
    private void LaunchIndexing(string op, Tensor source, Tensor index, Tensor y, int n, int axis, int indexCount, int inner)
    {
        var args = new KernelArgs();
        Arg(Arg(Arg(args, source, op), index, op), y, op).Int(n).Int(axis).Int(indexCount).Int(inner);
        Launch1D(WrapKernel("indexing", op, source.DType), n, args);
    }

    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner)
    {
        const string op = "index_add";
        var indices = index.ToArray<long>();
        int n = outer * yAxis * inner;
        if (n == 0 || count == 0) return;
        // Invert the index (a counting sort, stable): the entries j with index[j] == k are
        // order[starts[k] .. starts[k + 1]), ascending, so each output adds them in the CPU's order.
        var starts = new int[yAxis + 1];
        foreach (long k in indices) starts[k + 1]++;
        for (int k = 0; k < yAxis; k++) starts[k + 1] += starts[k];
        var order = new int[count];
        var next = starts[..yAxis];
        for (int j = 0; j < count; j++) order[next[indices[j]]++] = j;
        nint startsBuffer = UploadTemporary(starts, out long startsBytes);
        try
        {
            nint orderBuffer = UploadTemporary(order, out long orderBytes);
            try
            {
                var args = new KernelArgs();
                Arg(args, src, op).Buffer(startsBuffer).Buffer(orderBuffer);
                Arg(args, y, op).Int(n).Int(yAxis).Int(count).Int(inner);
                Launch1D(WrapKernel("indexing", "index_add", src.DType), n, args);
            }
            finally
            {
                // Launches run in order on one queue: whatever rents this buffer next runs after this kernel.
                Pool.Return(orderBuffer, orderBytes);
            }
        }
        finally
        {
            Pool.Return(startsBuffer, startsBytes);
        }
    }

    public void OneHot(Tensor index, Tensor y, int rows, int classes)
    {
        const string op = "one_hot";
        int n = rows * classes;
        var args = new KernelArgs();
        Arg(Arg(args, index, op), y, op).Int(n).Int(classes);
        Launch1D(WrapKernel("indexing", "one_hot", y.DType), n, args);
    }

    /// <summary>A pooled device buffer holding <paramref name="data"/>; give it back with Pool.Return(handle, bytes).</summary>
    private nint UploadTemporary(int[] data, out long bytes)
    {
        bytes = Math.Max(1, (long)data.Length * sizeof(int));
        nint handle = Pool.Rent(bytes);
        try
        {
            Runtime.Write(handle, 0, MemoryMarshal.AsBytes(data.AsSpan()));
            return handle;
        }
        catch
        {
            Pool.Return(handle, bytes);
            throw;
        }
    }
}
