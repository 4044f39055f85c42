namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on. Op test fixtures take a <see cref="Device"/>
/// through [TestFixtureSource].
/// </summary>
public static class Devices
{
    /// <summary>For now the CPU only: the GPU backend's op kernels are being ported (issue 4).</summary>
    public static IEnumerable<Device> All()
    {
        yield return Device.Cpu;
    }
}
