using Tensorium.Data;
using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Module.Predict, the classification metrics and the augmentation wrappers on every GPU device
/// (and the emulated one) give the CPU's results: they compose existing ops, so this checks that
/// nothing they use is missing on the GPU backend, and that Predict moves data both ways. Tiny
/// shapes: the emulated device is slow.
/// </summary>
[TestFixture]
public class ErgonomicsDeviceTests
{
    private static IEnumerable<Device> GpuDevices() => Devices.Gpus();

    [TestCaseSource(nameof(GpuDevices))]
    public void PredictOnAModelOnTheDeviceTakesAndReturnsHostTensors(Device device)
    {
        using var onCpu = new Linear(4, 3, generator: new Generator(1));
        using var onDevice = new Linear(4, 3, generator: new Generator(1));
        onDevice.To(device);
        using var x = Tensor.Normal([5, 4], 0, 1, new Generator(2));
        using var expected = onCpu.Predict(x);
        using var actual = onDevice.Predict(x);
        Assert.That(actual.Device, Is.EqualTo(Device.Cpu), "the output comes back to the input's device");
        Assert.That(actual.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-3), "TF32 on CUDA rounds products to about 1e-3");
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void MetricsCountTheSameOnTheDevice(Device device)
    {
        using var scores = Tensor.Normal([12, 4], 0, 1, new Generator(3));
        using var labels = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (long)(i % 4)).ToArray());
        using var deviceScores = scores.To(device);
        using var deviceLabels = labels.To(device);
        IMetric[] Fed(Tensor p, Tensor y)
        {
            IMetric[] metrics = [new ConfusionMatrix(), new TopKAccuracy(2), new F1Score()];
            foreach (var m in metrics) m.Update(p, y);
            return metrics;
        }
        var cpu = Fed(scores, labels);
        var gpu = Fed(deviceScores, deviceLabels);
        Assert.That(gpu[0].ToString(), Is.EqualTo(cpu[0].ToString()), "the confusion matrix");
        Assert.That(gpu.Select(m => m.Result), Is.EqualTo(cpu.Select(m => m.Result)));
    }

    /// <summary>Batches of a host dataset moved to <paramref name="device"/> (as a loader that prefetches to the GPU would give them).</summary>
    private sealed class OnDevice(IDataset data, Device device) : IDataset
    {
        public int Count => data.Count;

        public (Tensor Inputs, Tensor Targets) GetBatch(ReadOnlySpan<int> indices)
        {
            var (x, y) = data.GetBatch(indices);
            using (x)
            using (y)
                return (x.To(device), y.To(device));
        }
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void AugmentationRunsOnDeviceBatches(Device device)
    {
        using var data = new TensorDataset(Tensor.Uniform([3, 2, 4, 4], generator: new Generator(4)), Tensor.Zeros([3], DType.Int64));
        float[] Augmented(IDataset source, Device expected)
        {
            var pipeline = new Normalize(new RandomHorizontalFlip(new RandomCrop(source, 1, new Generator(5)), 0.5, new Generator(6)), [0.5, 0.4], [0.2, 0.3]);
            var (x, y) = pipeline.GetBatch([0, 1, 2]);
            using (x)
            using (y)
            {
                Assert.That(x.Device, Is.EqualTo(expected), "the batch stays where it was made");
                using var host = x.To(Device.Cpu);
                return host.ToArray<float>();
            }
        }
        Assert.That(Augmented(new OnDevice(data, device), device), Is.EqualTo(Augmented(data, Device.Cpu)).Within(1e-6));
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void ATensorDatasetOnTheDeviceBatchesAndFiltersThere(Device device)
    {
        using var hostInputs = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 6, 2);
        using var hostLabels = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2 });
        using var data = new TensorDataset(hostInputs.To(device), hostLabels.To(device));
        var (x, y) = data.GetBatch([4, 1]);
        using (x)
        using (y)
        {
            Assert.That(x.Device, Is.EqualTo(device));
            Assert.That(x.ToArray<float>(), Is.EqualTo(new float[] { 8, 9, 2, 3 }));
            Assert.That(y.ToArray<long>(), Is.EqualTo(new long[] { 1, 1 }));
        }
        using var kept = data.Where(l => l >= 1, l => l - 1);
        Assert.That(kept.Targets.Device, Is.EqualTo(device), "relabelled targets stay on the dataset's device");
        Assert.That(kept.Targets.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 0, 1 }));
        Assert.That(kept.Inputs.ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 4, 5, 8, 9, 10, 11 }));
    }
}
