namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on: the CPU always, plus every OpenCL and CUDA device
/// present (PoCL, which ./build.sh test installs, makes OpenCL present on a machine without a
/// GPU, so every GPU kernel runs in CI). Op test fixtures take a <see cref="Device"/> through
/// [TestFixtureSource].
/// </summary>
public static class Devices
{
    public static IEnumerable<Device> All() => Device.Available().Select(d => d.Device);

    /// <summary>Every device but the CPU: for fixtures that check a GPU backend against the CPU's results.</summary>
    public static IEnumerable<Device> Gpus() => All().Where(d => d != Device.Cpu);
}
