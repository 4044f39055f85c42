using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// <c>Module.To(dtype or device)</c> moves parameters in place, keeping their identity, so an
/// optimizer built before the move keeps training the model (issue 13, item 3).
/// </summary>
[NonParallelizable]
public class ModuleMoveTests
{
    public static IEnumerable<Device> Gpus() => Devices.Gpus();

    private static Sequential Model() =>
        new(new Linear(3, 4, generator: new Generator(1)), new BatchNorm1d(4), new ReLU(), new Linear(4, 2, generator: new Generator(2)));

    /// <summary>Forward and backward on a fixed batch, leaving gradients in the parameters.</summary>
    private static void Backward(Module model, DType dtype, Device device)
    {
        using var scope = new TensorScope();
        var x = Tensor.Normal([8, 3], 0, 1, new Generator(3), dtype, device);
        var loss = model.Forward(x).Square().Mean();
        loss.Backward();
    }

    private static void MovesAndKeepsTraining(Func<Module, Module> move, DType dtype, Device device)
    {
        using var model = Model();
        using var optimizer = new Adam(model.Parameters(), learningRate: 0.1);
        Backward(model, DType.Float32, Device.Cpu);
        optimizer.Step();                        // Adam now holds float32 moments on the CPU
        optimizer.ZeroGrad();
        Backward(model, DType.Float32, Device.Cpu);   // and the parameters hold gradients

        var before = model.Parameters().ToList();
        move(model);
        var after = model.Parameters().ToList();
        for (int i = 0; i < before.Count; i++)
        {
            Assert.That(ReferenceEquals(after[i], before[i]), Is.True, $"parameter {i} keeps its identity");
            Assert.That(after[i].IsDisposed, Is.False, $"parameter {i} is alive");
            Assert.That((after[i].DType, after[i].Device), Is.EqualTo((dtype, device)), $"parameter {i} moved");
            Assert.That((after[i].Grad!.DType, after[i].Grad!.Device), Is.EqualTo((dtype, device)), $"parameter {i}'s gradient moved with it");
        }
        Assert.That(optimizer.Parameters, Is.EqualTo(after).Using<Tensor>((a, b) => ReferenceEquals(a, b)), "the optimizer holds the model's parameters");

        var weights = after.Select(p => p.ToDoubleArray()).ToList();
        optimizer.Step();                        // the moved gradients
        optimizer.ZeroGrad();
        Backward(model, dtype, device);
        optimizer.Step();                        // fresh gradients on the new dtype and device
        for (int i = 0; i < after.Count; i++)
            Assert.That(after[i].ToDoubleArray(), Is.Not.EqualTo(weights[i]), $"parameter {i} was updated after the move");
        var state = optimizer.StateDict();
        try
        {
            foreach (var (name, t) in state.Where(kv => kv.Key.EndsWith("exp_avg") || kv.Key.EndsWith("exp_avg_sq")))
                Assert.That((t.DType, t.Device), Is.EqualTo((dtype, device)), $"optimizer state '{name}' follows its parameter");
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Test]
    public void ToFloat64AfterBuildingTheOptimizerKeepsTraining() =>
        MovesAndKeepsTraining(m => m.To(DType.Float64), DType.Float64, Device.Cpu);

    [TestCaseSource(nameof(Gpus))]
    public void ToADeviceAfterBuildingTheOptimizerKeepsTraining(Device device) =>
        MovesAndKeepsTraining(m => m.To(device), DType.Float32, device);

    [Test]
    public void BuffersMoveInPlaceAndIntegerBuffersKeepTheirType()
    {
        using var model = Model();
        var buffers = model.NamedBuffers().ToList();
        model.To(DType.Float64);
        var moved = model.NamedBuffers().ToList();
        for (int i = 0; i < buffers.Count; i++)
            Assert.That(ReferenceEquals(moved[i].Buffer, buffers[i].Buffer), Is.True, $"buffer '{buffers[i].Name}' keeps its identity");
        Assert.That(model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer.DType), Is.EqualTo(new Dictionary<string, DType>
        {
            ["1.running_mean"] = DType.Float64, ["1.running_var"] = DType.Float64, ["1.num_batches_tracked"] = DType.Int64,
        }));
        using var scope = new TensorScope();
        model.Eval();
        var y = model.Forward(Tensor.Normal([2, 3], 0, 1, new Generator(4), DType.Float64));
        Assert.That(y.DType, Is.EqualTo(DType.Float64), "the layers compute with the moved tensors");
    }

    [Test]
    public void AnOptimizerWhoseModelWasDisposedRaises()
    {
        var model = Model();
        using var optimizer = new Adam(model.Parameters());
        Backward(model, DType.Float32, Device.Cpu);
        model.Dispose();
        Ref.Throws<ObjectDisposedException>(() => optimizer.Step(), "Adam: parameter 0 ('weight') was disposed; expected a live tensor", "build a new optimizer");
    }
}
