namespace Tensorium.Tests.Examples;

/// <summary>
/// --device in the examples (issue 13, item 10): checked when the options are parsed (one line and
/// exit code 2, not an unhandled exception and exit 134 once the model moves), never ignored, and
/// the device trained on is printed, with a warning when it really is the CPU. Runs the examples'
/// command line in-process; nothing here loads a data set or trains.
/// </summary>
[NonParallelizable]   // swaps Console.Error
public class ExampleDeviceTests
{
    private static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { return (ExampleCommand.Run(args), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    private static string AvailableList => string.Join(", ", Device.Available().Select(d => d.Device));

    [Test]
    public void AMissingCudaDeviceIsOneLineAndExitCode2()
    {
        // cuda:7: absent on any machine these tests run on, with or without a GPU.
        var (code, error) = Run("cnn", "--device", "cuda:7");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("error: --device cuda:7: no CUDA device"));
        Assert.That(error, Does.Contain($"(available: {AvailableList})"));
        Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
    }

    [Test]
    public void AMissingOpenClDeviceIsOneLineAndExitCode2()
    {
        var (code, error) = Run("mlp", "--device", "opencl:9");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("error: --device opencl:9: no OpenCL device"));
    }

    [Test]
    public void AMalformedDeviceNameSaysWhatIsExpected()
    {
        var (code, error) = Run("cnn", "--device", "gpu");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Is.EqualTo("error: --device gpu: expected cpu, emulated, opencl[:N] or cuda[:N]" + Environment.NewLine));
    }

    [Test]
    public void ExamplesThatRunOnTheCpuOnlyRefuseAnotherDevice()
    {
        // Checked apart from parsing, so that it runs without a GPU: these examples used to ignore
        // --device and train on the CPU without a word.
        foreach (var command in new[] { "transformer", "seq2seq", "transfer", "autograd" })
        {
            var e = Assert.Throws<ArgumentException>(() => ExampleCommand.CheckDevice(command, Device.Cuda()));
            Assert.That(e!.Message, Is.EqualTo($"--device cuda:0: the {command} example runs on the CPU only (--device applies to cnn, mlp, lstm, cifar)"));
            Assert.DoesNotThrow(() => ExampleCommand.CheckDevice(command, Device.Cpu));
        }
        foreach (var command in ExampleCommand.DeviceExamples)
            Assert.DoesNotThrow(() => ExampleCommand.CheckDevice(command, Device.OpenCL(1)));
    }

    [Test]
    public void GraphIsRefusedByExamplesThatDoNotDrawATape()
    {
        var (code, error) = Run("mlp", "--graph", "tape");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Is.EqualTo("error: --graph tape: only the autograd example draws its tape (./build.sh demo autograd --graph FILE)" + Environment.NewLine));
    }

    [Test]
    public void TheDeviceLineNamesACpuDriverAsSuchAndWarns()
    {
        var pocl = new DeviceDescription(Device.OpenCL(0), "cpu-haswell-AMD EPYC", "Portable Computing Language", 1L << 33, 16, true, IsGpu: false);
        string line = ExampleOptions.TrainingOn(pocl);
        Assert.That(line, Does.StartWith("Device: opencl:0 (cpu-haswell-AMD EPYC, Portable Computing Language)"));
        Assert.That(line, Does.Contain("warning: opencl:0 is not a GPU").And.Contain("slow"));

        var gpu = pocl with { Device = Device.Cuda(), Name = "NVIDIA H100", Vendor = "NVIDIA CUDA", IsGpu = true };
        Assert.That(ExampleOptions.TrainingOn(gpu), Is.EqualTo("Device: cuda:0 (NVIDIA H100, NVIDIA CUDA)"));
        Assert.That(ExampleOptions.TrainingOn(Device.Cpu), Does.StartWith("Device: cpu (").And.Not.Contain("warning"));
    }

    [Test]
    public void EveryPresentDeviceParsesAndIsAccepted()
    {
        foreach (var d in Device.Available())
            Assert.That(ExampleOptions.ParseDevice(d.Device.ToString()), Is.EqualTo(d.Device));
    }
}
