using Tensorium.Layers;
using Tensorium.Profiling;

namespace Tensorium.Tests.Engine;

/// <summary>
/// What the profiler counts for the ops whose work is not simply their tensors' sizes: indexing
/// (only the rows it touches), causal attention (only the allowed pairs), recurrent backward
/// (only the gradients asked for); and which roof each dtype is held to.
/// </summary>
[NonParallelizable]   // a session records every thread's ops: no other test may run beside these
public class ProfilerCountTests
{
    [Test]
    public void IndexingCountsTheRowsItTouchesNotTheWholeTable()
    {
        using var table = Tensor.Uniform([1000, 8]);
        table.RequiresGrad = true;
        using var index = Tensor.FromArray(new long[] { 3, 997, 3, 0 });
        Profiler profile;
        using (profile = Profiler.Start())
        using (new TensorScope())
            table.IndexSelect(0, index).Sum().Backward();
        // Forward: 4 rows of 8 floats read from the table and written out, plus 4 long indices.
        Assert.That(profile.Ops.Single(op => op.Name == "IndexSelect").Bytes, Is.EqualTo(2 * 4 * 8 * 4 + 4 * 8));
        // Backward: the 4 gradient rows read, and 4 rows of the table's gradient read and written.
        Assert.That(profile.Ops.Single(op => op.Name == "IndexAdd").Bytes, Is.EqualTo(3 * 4 * 8 * 4 + 4 * 8));
    }

    [TestCase(6, 6, 21)]   // square: the triangle, 6·7/2
    [TestCase(3, 5, 6)]    // fewer queries than keys (top-left aligned): 1 + 2 + 3
    [TestCase(6, 4, 18)]   // more queries than keys: 1 + 2 + 3 + 4, then 4 for each of the last two
    public void CausalAttentionCountsTheAllowedPairsOnly(int queries, int keys, int pairs)
    {
        const int batchHeads = 2, dim = 4;
        using var q = Ref.Leaf([1, batchHeads, queries, dim], Device.Cpu);
        using var k = Ref.Leaf([1, batchHeads, keys, dim], Device.Cpu, seed: 2);
        using var v = Ref.Leaf([1, batchHeads, keys, dim], Device.Cpu, seed: 3);
        Profiler profile;
        using (profile = Profiler.Start())
        using (new TensorScope())
        {
            AttentionOp.ScaledDotProductAttention(q, k, v, causal: true).Sum().Backward();
            AttentionOp.ScaledDotProductAttention(q, k, v).Sum().Backward();
        }
        var forward = profile.Ops.Where(op => op.Name == "Attention").Select(op => op.Flops).ToList();
        var backward = profile.Ops.Where(op => op.Name == "AttentionBackward").Select(op => op.Flops).ToList();
        // S = Q Kᵀ and O = P V per pair; backward recomputes S and does four products more.
        Assert.That(forward, Is.EqualTo(new[] { 2.0 * batchHeads * pairs * (dim + dim), 2.0 * batchHeads * queries * keys * (dim + dim) }));
        Assert.That(backward, Is.EqualTo(new[] { 2.0 * batchHeads * pairs * (3 * dim + 2 * dim), 2.0 * batchHeads * queries * keys * (3 * dim + 2 * dim) }));
    }

    [Test]
    public void RecurrentBackwardCountsOnlyTheGradientsAskedFor()
    {
        const int batch = 3, steps = 5, input = 4, hidden = 6, gates = 4;
        using var lstm = new Lstm(input, hidden, generator: new Generator(1));
        using var x = Tensor.Uniform([batch, steps, input]);   // data: no gradient of its own
        Profiler profile;
        using (profile = Profiler.Start())
        using (new TensorScope())
            lstm.Forward(x).Sum().Backward();
        double perProduct = 2.0 * batch * steps * gates * hidden;
        Assert.That(profile.Ops.Single(op => op.Name == "RecurrentForward.Lstm").Flops, Is.EqualTo(perProduct * (input + hidden)));
        // The hidden state's gradient through W_hh, W_ih's and W_hh's own; none for the input.
        Assert.That(profile.Ops.Single(op => op.Name == "RecurrentBackward.Lstm").Flops, Is.EqualTo(perProduct * (hidden + input + hidden)));
    }

    [Test]
    public void Float64IsHeldToHalfTheFloat32PeakAndIntegersToTheCopyRoofOnly()
    {
        ProfileTable.Row Row(DType dtype) =>
            new("MatMul", ProfilePhase.Forward, "[1]", dtype, Device.Cpu, 1, TimeSpan.FromSeconds(1), Flops: 50e9, Bytes: 1e9);
        // 50 GFLOP in a second: half the float32 peak, all of the float64 one (the same vectors
        // hold half as many doubles); no integer peak is measured, so 1 GB in a second is 10% of the copy roof.
        Assert.That(Row(DType.Float32).RoofFraction(ProfilerTests.FixedPeaks), Is.EqualTo(0.5).Within(1e-12));
        Assert.That(Row(DType.Float64).RoofFraction(ProfilerTests.FixedPeaks), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(Row(DType.Int64).RoofFraction(ProfilerTests.FixedPeaks), Is.EqualTo(0.1).Within(1e-12));
        Assert.That(Row(DType.Int64).BoundByFlops(ProfilerTests.FixedPeaks), Is.False);
    }
}
