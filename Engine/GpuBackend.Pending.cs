using Tensorium.Kernels.Cpu;

namespace Tensorium;

// TEMPORARY during the port: ops whose GPU kernels are being written. Each helper replaces its group.
internal sealed partial class GpuBackend
{
    private NotSupportedException Pending(string op) => new($"{op}: not yet available on {Device}.");

    public void ReduceRows(ReduceOp op, Tensor x, Tensor y, int rows, int cols, int correction) => throw Pending("reduce");
    public void ArgReduceRows(bool max, Tensor x, Tensor y, int rows, int cols) => throw Pending("argreduce");
    public void Gather(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int indexAxis, int inner) => throw Pending("gather");
    public void ScatterAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int indexAxis, int inner) => throw Pending("scatter_add");
    public void IndexSelect(Tensor x, Tensor index, Tensor y, int outer, int xAxis, int count, int inner) => throw Pending("index_select");
    public void IndexAdd(Tensor src, Tensor index, Tensor y, int outer, int yAxis, int count, int inner) => throw Pending("index_add");
    public void OneHot(Tensor index, Tensor y, int rows, int classes) => throw Pending("one_hot");
}
