using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// The issue-16 layers, losses and optimizer rules run on every GPU device (and the emulated
/// one) exactly as on the CPU: they are compositions of existing ops, so this checks that the
/// composition uses nothing the GPU backend lacks. Tiny shapes: the emulated device is slow.
/// </summary>
[TestFixture]
public class LayerOptionsDeviceTests
{
    private static IEnumerable<Device> GpuDevices() => Devices.Gpus();

    /// <summary>
    /// Runs <paramref name="f"/> with a module from <paramref name="make"/> on the CPU and on
    /// <paramref name="device"/>, and compares the output, the inputs' gradients and the parameters' gradients.
    /// </summary>
    private static void AssertSameOnDevice(Device device, Func<Module> make, Func<Module, Tensor[], Tensor> f, params int[][] inputShapes)
    {
        using var scope = new TensorScope();
        using var cpuModule = make();
        using var gpuModule = make();
        gpuModule.To(device);
        var cpuInputs = inputShapes.Select((s, i) => ModuleGradCheck.Data(s, 90 + i, dtype: DType.Float32, requiresGrad: true)).ToArray();
        var gpuInputs = cpuInputs.Select(t => { var g = t.Detach().To(device); g.RequiresGrad = true; return g; }).ToArray();
        var cpuOut = f(cpuModule, cpuInputs);
        var gpuOut = f(gpuModule, gpuInputs);
        Assert.That(gpuOut.Device, Is.EqualTo(device));
        Reference.AssertClose(gpuOut.ToDoubleArray(), cpuOut.ToDoubleArray(), 1e-5, 1e-4, "output");
        using var weights = Tensor.Uniform(cpuOut.Shape, -1, 1, new Generator(3), DType.Float32);
        using var gpuWeights = weights.To(device);
        (cpuOut * weights).Sum().Backward();
        (gpuOut * gpuWeights).Sum().Backward();
        for (int i = 0; i < cpuInputs.Length; i++)
            Reference.AssertClose(gpuInputs[i].Grad!.ToDoubleArray(), cpuInputs[i].Grad!.ToDoubleArray(), 1e-5, 1e-4, $"input {i} gradient");
        foreach (var ((name, p), (_, q)) in cpuModule.NamedParameters().Zip(gpuModule.NamedParameters()))
            Reference.AssertClose(q.Grad!.ToDoubleArray(), p.Grad!.ToDoubleArray(), 1e-5, 1e-4, $"{name} gradient");
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void NormsMatchTheCpu(Device device)
    {
        AssertSameOnDevice(device, () => new GroupNorm(2, 4), (m, x) => m.Forward(x[0]), [2, 4, 3]);
        AssertSameOnDevice(device, () => new InstanceNorm2d(2, affine: true, trackRunningStats: true), (m, x) => m.Forward(x[0]), [2, 2, 2, 3]);
        AssertSameOnDevice(device, () => new RmsNorm(3), (m, x) => m.Forward(x[0]), [2, 3]);
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void ConvolutionAndPoolingOptionsMatchTheCpu(Device device)
    {
        AssertSameOnDevice(device, () => new Conv2d(2, 2, (2, 3), (1, 1), Padding.Same, (1, 1), generator: new Generator(4), groups: 2, paddingMode: PaddingMode.Reflect),
            (m, x) => m.Forward(x[0]), [1, 2, 4, 4]);
        AssertSameOnDevice(device, () => new MaxPool2d(2, 2, 1, dilation: 2, ceilMode: true), (m, x) => m.Forward(x[0]), [1, 1, 5, 4]);
        AssertSameOnDevice(device, () => new MaxPool2d(2, 2, ceilMode: true), (m, x) => m.Forward(x[0]), [1, 1, 5, 3]);
        AssertSameOnDevice(device, () => new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false), (m, x) => m.Forward(x[0]), [1, 1, 4, 5]);
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void RecurrentAndAttentionOptionsMatchTheCpu(Device device)
    {
        AssertSameOnDevice(device, () => new SimpleRnn(2, 2, generator: new Generator(5), bidirectional: true, nonlinearity: RnnNonlinearity.Relu),
            (m, x) => m.Forward(x[0]), [1, 3, 2]);
        AssertSameOnDevice(device, () => new MultiHeadAttention(4, 2, generator: new Generator(7), kdim: 3, vdim: 2),
            (m, x) =>
            {
                var (output, weights) = ((MultiHeadAttention)m).ForwardWithWeights(x[0], x[1], x[2]);
                return Joining.Concat([output.Reshape(-1), weights.Reshape(-1)], 0);
            }, [1, 2, 4], [1, 3, 3], [1, 3, 2]);
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void LossOptionsMatchTheCpu(Device device)
    {
        using var scope = new TensorScope();
        var classWeight = Tensor.FromArray(new[] { 0.5f, 2f, 1f });
        var labels = Tensor.FromArray(new long[] { 2, 0, 1, 1 });
        var probabilities = ModuleGradCheck.Data([4, 3], 80, 0.5, 0.5, dtype: DType.Float32);
        var posWeight = Tensor.FromArray(new[] { 3f, 0.5f, 1.5f });
        Tensor[] Losses(Tensor x, Tensor w, Tensor y, Tensor t, Tensor p) =>
        [
            x.CrossEntropy(y, w, labelSmoothing: 0.1),
            x.CrossEntropy(t, w),
            x.LogSoftmax(-1).NllLoss(y, weight: w),
            x.BinaryCrossEntropyWithLogits(t, posWeight: p),
        ];
        var x = ModuleGradCheck.Data([4, 3], 81, dtype: DType.Float32);
        var cpu = Losses(x, classWeight, labels, probabilities, posWeight);
        var gpu = Losses(x.To(device), classWeight.To(device), labels.To(device), probabilities.To(device), posWeight.To(device));
        for (int i = 0; i < cpu.Length; i++)
            Assert.That(gpu[i].Item(), Is.EqualTo(cpu[i].Item()).Within(1e-5), $"loss {i}");
    }

    [TestCaseSource(nameof(GpuDevices))]
    public void ComposedOptimizerRulesMatchTheCpu(Device device)
    {
        Func<Tensor, Optimizer>[] makers =
        [
            p => new Adam([p], 0.1, amsgrad: true),
            p => new RmsProp([p], 0.05, momentum: 0.5, centered: true),
            p => new Adagrad([p], 0.1, learningRateDecay: 0.1),
        ];
        foreach (var make in makers)
        {
            using var scope = new TensorScope();
            var cpuP = ModuleGradCheck.Data([5], 70, dtype: DType.Float32, requiresGrad: true);
            var gpuP = cpuP.Detach().To(device);
            gpuP.RequiresGrad = true;
            using var cpuOpt = make(cpuP);
            using var gpuOpt = make(gpuP);
            for (int step = 0; step < 2; step++)
            {
                var g = ModuleGradCheck.Data([5], 71 + step, dtype: DType.Float32);
                cpuP.Grad = g.Detach();
                gpuP.Grad = g.To(device);
                cpuOpt.Step();
                gpuOpt.Step();
            }
            Reference.AssertClose(gpuP.ToDoubleArray(), cpuP.ToDoubleArray(), 1e-6, 1e-5, cpuOpt.GetType().Name);
        }
    }
}
