using Tensorium.Layers;

namespace Tensorium.Tests.Engine;

/// <summary>Devices: naming, listing, moving tensors and models, mixing devices, and each GPU's buffer pool.</summary>
[NonParallelizable]
public class DeviceTests
{
    public static IEnumerable<Device> Gpus() => Devices.All().Where(d => d.Kind != DeviceKind.Cpu);

    /// <summary>
    /// The devices off the CPU whose memory one tensor (at most int.MaxValue float64 elements) can
    /// exceed: not the emulated device, whose memory is the host's.
    /// </summary>
    public static IEnumerable<Device> GpusSmallerThanOneTensor() =>
        Gpus().Where(d => Device.Available().FirstOrDefault(a => a.Device == d)?.MemoryBytes < int.MaxValue * 8L);

    [TestCase("cpu", DeviceKind.Cpu, 0)]
    [TestCase("opencl", DeviceKind.OpenCL, 0)]
    [TestCase("OpenCL:2", DeviceKind.OpenCL, 2)]
    [TestCase("cuda:1", DeviceKind.Cuda, 1)]
    public void ParsesTheNamesItPrints(string text, DeviceKind kind, int index)
    {
        var device = Device.Parse(text);
        Assert.That(device, Is.EqualTo(new Device(kind, index)));
        Assert.That(Device.Parse(device.ToString()), Is.EqualTo(device));
    }

    [TestCase("gpu")]
    [TestCase("cuda:x")]
    [TestCase("cpu:1")]
    [TestCase("cuda:-1")]
    public void RejectsUnknownNames(string text) =>
        Ref.Throws<FormatException>(() => Device.Parse(text), "device", text);

    [TestCase("cpu", true)]
    [TestCase(" CUDA:1 ", true)]
    [TestCase("gpu", false)]
    [TestCase("cuda:x", false)]
    [TestCase("cpu:1", false)]
    [TestCase("opencl:-1", false)]
    [TestCase("", false)]
    [TestCase(null, false)]
    public void TryParseAgreesWithParseWithoutThrowing(string? text, bool valid)
    {
        Assert.That(Device.TryParse(text, out var device), Is.EqualTo(valid));
        if (valid) Assert.That(device, Is.EqualTo(Device.Parse(text!)));
        else Assert.That(device, Is.Null);
    }

    [Test]
    public void IsAvailableMeansListedByAvailable()
    {
        Assert.That(Device.Cpu.IsAvailable, Is.True);
        foreach (var d in Device.Available()) Assert.That(d.Device.IsAvailable, Is.True, d.ToString());
        // Indices past the last device of each family are never available.
        Assert.That(Device.Cuda(Device.Available().Count(d => d.Device.Kind == DeviceKind.Cuda)).IsAvailable, Is.False);
        Assert.That(Device.OpenCL(Device.Available().Count(d => d.Device.Kind == DeviceKind.OpenCL)).IsAvailable, Is.False);
    }

    [Test]
    public void ListsTheCpuFirstAndNeverPicksCpuOpenClAsDefault()
    {
        var available = Device.Available();
        Assert.That(available[0].Device, Is.EqualTo(Device.Cpu));
        var best = Device.Default;
        if (!available.Any(d => d.IsGpu)) Assert.That(best, Is.EqualTo(Device.Cpu));
        else Assert.That(available.Single(d => d.Device == best).IsGpu, Is.True);
    }

    [Test]
    public void OpeningAMissingDeviceSaysWhatIsThere()
    {
        int count = Device.Available().Count(d => d.Device.Kind == DeviceKind.OpenCL);
        var e = Assert.Catch(() => Tensor.Zeros([2], device: Device.OpenCL(count + 3)))!;
        Assert.That(e.Message, Does.Contain($"opencl:{count + 3}"));
    }

    [TestCaseSource(nameof(Gpus))]
    public void RoundTripsEveryDTypeThroughTheDevice(Device device)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 })
        {
            using var host = Tensor.Arange(0, 60, 1, dtype).Reshape(3, 4, 5);
            using var view = host.Transpose(0, 2).Narrow(1, 1, 2);   // strided, with an offset
            using var there = view.To(device);
            using var back = there.To(Device.Cpu);
            Assert.That(there.Device, Is.EqualTo(device));
            Assert.That(back.ToDoubleArray(), Is.EqualTo(view.ToDoubleArray()), dtype.Name());
        }
    }

    [TestCaseSource(nameof(Gpus))]
    public void MixingDevicesNamesTheOpAndBothDevices(Device device)
    {
        using var a = Tensor.Ones([3]);
        using var b = Tensor.Ones([3], device: device);
        Ref.Throws<ArgumentException>(() => _ = a + b, "add", "cpu", device.ToString());
        Ref.Throws<ArgumentException>(() => a.MatMul(b.Reshape(3, 1)), "matmul", "cpu", device.ToString());
    }

    [TestCaseSource(nameof(Gpus))]
    public void EachDeviceHasItsOwnPoolThatEmpties(Device device)
    {
        Reference.SettledLiveBuffers();
        var pool = device.Pool;
        long live = pool.LiveBuffers;
        using (var t = Tensor.Zeros([1000], device: device)) Assert.That(pool.LiveBuffers, Is.EqualTo(live + 1));
        Assert.That(pool.LiveBuffers, Is.EqualTo(live));
        Assert.That(pool.PooledBytes, Is.GreaterThan(0));
        pool.Empty();
        Assert.That(pool.PooledBytes, Is.Zero);
        Assert.That(Device.Cpu.Pool, Is.Not.SameAs(pool));
    }

    [TestCaseSource(nameof(GpusSmallerThanOneTensor))]
    public void AnImpossibleAllocationSaysHowMuchWasAsked(Device device)
    {
        long live = device.Pool.LiveBuffers;
        var e = Assert.Throws<OutOfMemoryException>(() => Tensor.Empty([int.MaxValue], DType.Float64, device))!;
        Assert.That(e.Message, Does.Contain(device.ToString()).And.Contain("bytes"));
        Assert.That(device.Pool.LiveBuffers, Is.EqualTo(live), "a failed allocation must not count as live");
    }

    [TestCaseSource(nameof(Gpus))]
    public void AModelTrainsOnTheDeviceAsOnTheCpu(Device device)
    {
        double[] Train(Device where)
        {
            var g = new Generator(3);
            using var model = new Sequential(new Linear(6, 16, generator: g), new ReLU(), new Linear(16, 3, generator: g));
            model.To(where);
            using var optimizer = new Optim.Adam(model.Parameters(), learningRate: 1e-2);
            using var data = new Tensorium.Data.TensorDataset(Tensor.Uniform([40, 6], -1, 1, new Generator(4)),
                Tensor.FromArray(Enumerable.Range(0, 40).Select(i => (long)(i % 3)).ToArray()));
            var trainer = new Trainer(model, optimizer, (p, t) => p.CrossEntropy(t)) { Output = null };
            var history = trainer.Fit(data, epochs: 3, batchSize: 8, shuffle: false);
            Assert.That(model.Parameters().All(p => p.Device == where));
            return history["loss"].ToArray();
        }
        Assert.That(Train(device), Is.EqualTo(Train(Device.Cpu)).Within(1e-4), "loss per epoch");
    }
}
