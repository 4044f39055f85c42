using Tensorium.Data;

namespace Tensorium.Tests.Data;

/// <summary>TensorDataset, Subset and DataLoader: batching, shuffling determinism, drop-last, filters.</summary>
public class DataTests
{
    /// <summary>Example i has input [i, -i] (float32) and target 10*i (int64), so a batch reveals which examples it holds.</summary>
    private static TensorDataset Numbered(int n) => new(
        Tensor.FromArray(Enumerable.Range(0, n).SelectMany(i => new[] { (float)i, -i }).ToArray(), n, 2),
        Tensor.FromArray(Enumerable.Range(0, n).Select(i => 10L * i).ToArray()));

    /// <summary>Which examples a batch holds, checking inputs and targets agree.</summary>
    private static int[] Ids((Tensor Inputs, Tensor Targets) batch)
    {
        var inputs = batch.Inputs.ToArray<float>();
        var targets = batch.Targets.ToArray<long>();
        var ids = Enumerable.Range(0, targets.Length).Select(i => (int)inputs[2 * i]).ToArray();
        Assert.That(targets, Is.EqualTo(ids.Select(i => 10L * i).ToArray()), "targets travel with their inputs");
        Assert.That(Enumerable.Range(0, ids.Length).Select(i => inputs[2 * i + 1]), Is.EqualTo(ids.Select(i => (float)-i)), "whole rows are copied");
        return ids;
    }

    /// <summary>One epoch: each batch's example ids; batches are disposed.</summary>
    private static List<int[]> Epoch(DataLoader loader)
    {
        var batches = new List<int[]>();
        foreach (var batch in loader)
        {
            batches.Add(Ids(batch));
            batch.Inputs.Dispose();
            batch.Targets.Dispose();
        }
        return batches;
    }

    [Test]
    public void GetBatchSelectsRowsInOrderWithRepeats()
    {
        using var data = Numbered(5);
        var (x, y) = data.GetBatch([3, 0, 3]);
        using (x)
        using (y)
        {
            Assert.That(x.Shape, Is.EqualTo(new[] { 3, 2 }));
            Assert.That(y.Shape, Is.EqualTo(new[] { 3 }));
            Assert.That(Ids((x, y)), Is.EqualTo(new[] { 3, 0, 3 }));
            Assert.That(x.RequiresGrad, Is.False);
        }
        Assert.That(data.Inputs.IsDisposed, Is.False, "a batch is a copy; disposing it leaves the dataset intact");
    }

    [Test]
    public void BadIndexAndMismatchedCountsAreClearErrors()
    {
        using var data = Numbered(4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => data.GetBatch([1, 4]));
        Assert.That(e!.Message, Does.Contain("TensorDataset").And.Contain("index 4").And.Contain("4 examples"));
        using var x = Tensor.Zeros([3, 2]);
        using var y = Tensor.Zeros([2], DType.Int64);
        var m = Assert.Throws<ArgumentException>(() => new TensorDataset(x, y));
        Assert.That(m!.Message, Does.Contain("3 examples").And.Contain("2"));
    }

    [Test]
    public void DatasetOutlivesTheScopeItWasMadeIn()
    {
        TensorDataset data;
        using (new TensorScope()) data = Numbered(3);
        using (data)
        {
            Assert.That(data.Inputs.IsDisposed, Is.False);
            var (x, y) = data.GetBatch([2]);
            Assert.That(Ids((x, y)), Is.EqualTo(new[] { 2 }));
            x.Dispose(); y.Dispose();
        }
        Assert.That(data.Inputs.IsDisposed && data.Targets.IsDisposed, Is.True, "the dataset disposes its tensors");
    }

    [Test]
    public void WhereKeepsMatchingLabelsAndCanRelabel()
    {
        // Labels 0..9 repeated: the transfer-learning split into classes 0-4 and 5-9.
        var labels = Enumerable.Range(0, 20).Select(i => (long)(i % 10)).ToArray();
        using var data = new TensorDataset(Tensor.FromArray(Enumerable.Range(0, 20).Select(i => (float)i).ToArray(), 20, 1), Tensor.FromArray(labels));
        using var low = data.Where(l => l < 5);
        using var high = data.Where(l => l >= 5, l => l - 5);
        Assert.That(low.Count, Is.EqualTo(10));
        Assert.That(low.Targets.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 }));
        Assert.That(low.Inputs.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4, 10, 11, 12, 13, 14 }));
        Assert.That(high.Targets.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 }));
        Assert.That(high.Inputs.ToArray<float>(), Is.EqualTo(new float[] { 5, 6, 7, 8, 9, 15, 16, 17, 18, 19 }));
    }

    [Test]
    public void WhereNeedsIntegerLabels()
    {
        using var data = new TensorDataset(Tensor.Zeros([2, 1]), Tensor.Zeros([2]));
        var e = Assert.Throws<InvalidOperationException>(() => data.Where(_ => true));
        Assert.That(e!.Message, Does.Contain("integer labels").And.Contain("float32"));
    }

    [Test]
    public void SubsetMapsIndicesAndRandomSplitIsDeterministic()
    {
        using var data = Numbered(10);
        var subset = new Subset(data, [7, 2, 5]);
        var (x, y) = subset.GetBatch([2, 0]);
        Assert.That(Ids((x, y)), Is.EqualTo(new[] { 5, 7 }));
        x.Dispose(); y.Dispose();
        Assert.Throws<ArgumentOutOfRangeException>(() => subset.GetBatch([3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(data, [10]));

        var (a, b) = Subset.RandomSplit(data, 7, new Generator(3));
        var (a2, _) = Subset.RandomSplit(data, 7, new Generator(3));
        Assert.That(a.Count + b.Count, Is.EqualTo(10));
        Assert.That(a.Indices.Concat(b.Indices).Order(), Is.EqualTo(Enumerable.Range(0, 10)), "disjoint and complete");
        Assert.That(a2.Indices, Is.EqualTo(a.Indices), "same seed, same split");
    }

    [Test]
    public void SequentialLoaderKeepsOrderAndAPartialLastBatch()
    {
        using var data = Numbered(10);
        var loader = new DataLoader(data, batchSize: 4);
        Assert.That(loader.BatchCount, Is.EqualTo(3));
        var batches = Epoch(loader);
        Assert.That(batches.Select(b => b.Length), Is.EqualTo(new[] { 4, 4, 2 }));
        Assert.That(batches.SelectMany(b => b), Is.EqualTo(Enumerable.Range(0, 10)));
    }

    [Test]
    public void DropLastSkipsTheIncompleteBatch()
    {
        using var data = Numbered(10);
        var loader = new DataLoader(data, 4, dropLast: true);
        Assert.That(loader.BatchCount, Is.EqualTo(2));
        Assert.That(Epoch(loader).Select(b => b.Length), Is.EqualTo(new[] { 4, 4 }));
        Assert.That(new DataLoader(data, 5, dropLast: true).BatchCount, Is.EqualTo(2), "an exact division loses nothing");
        Assert.That(new DataLoader(data, 11, dropLast: true).BatchCount, Is.EqualTo(0));
    }

    [Test]
    public void BatchLargerThanAnyDatasetGivesOneBatch()
    {
        // int.MaxValue as "everything in one batch": counting batches must not overflow.
        using var data = Numbered(3);
        var loader = new DataLoader(data, int.MaxValue);
        Assert.That(loader.BatchCount, Is.EqualTo(1));
        Assert.That(Epoch(loader), Is.EqualTo(new[] { new[] { 0, 1, 2 } }));
        Assert.That(new DataLoader(data, int.MaxValue, dropLast: true).BatchCount, Is.EqualTo(0));
    }

    [Test]
    public void ShuffleIsSeededAndNewEachEpoch()
    {
        using var data = Numbered(50);
        var loaderA = new DataLoader(data, 8, shuffle: true, generator: new Generator(42));
        var loaderB = new DataLoader(data, 8, shuffle: true, generator: new Generator(42));
        var a1 = Epoch(loaderA).SelectMany(b => b).ToArray();
        var a2 = Epoch(loaderA).SelectMany(b => b).ToArray();
        var b1 = Epoch(loaderB).SelectMany(b => b).ToArray();
        var b2 = Epoch(loaderB).SelectMany(b => b).ToArray();
        var other = Epoch(new DataLoader(data, 8, shuffle: true, generator: new Generator(43))).SelectMany(b => b).ToArray();

        Assert.That(a1.Order(), Is.EqualTo(Enumerable.Range(0, 50)), "an epoch visits every example once");
        Assert.That(a2.Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(a1, Is.Not.EqualTo(Enumerable.Range(0, 50)), "actually shuffled");
        Assert.That(a2, Is.Not.EqualTo(a1), "a new order each epoch");
        Assert.That(b1, Is.EqualTo(a1), "same seed, same first epoch");
        Assert.That(b2, Is.EqualTo(a2), "same seed, same second epoch");
        Assert.That(other, Is.Not.EqualTo(a1), "another seed, another order");
    }

    [Test]
    public void ShuffledLoaderWithDropLastGivesFullBatchesOfDistinctExamples()
    {
        using var data = Numbered(10);
        var batches = Epoch(new DataLoader(data, 3, shuffle: true, generator: new Generator(1), dropLast: true));
        Assert.That(batches.Select(b => b.Length), Is.EqualTo(new[] { 3, 3, 3 }));
        Assert.That(batches.SelectMany(b => b).Distinct().Count(), Is.EqualTo(9));
    }

    [Test]
    public void LoaderRejectsABadBatchSizeAndHandlesAnEmptyDataset()
    {
        using var data = Numbered(3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, 0));
        Assert.That(e!.Message, Does.Contain("DataLoader").And.Contain("batch size"));
        using var empty = data.Where(_ => false);
        Assert.That(empty.Count, Is.EqualTo(0));
        var loader = new DataLoader(empty, 2, shuffle: true, generator: new Generator(0));
        Assert.That(loader.BatchCount, Is.EqualTo(0));
        Assert.That(Epoch(loader), Is.Empty);
    }
}
