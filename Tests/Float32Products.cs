namespace Tensorium.Tests;

/// <summary>
/// Runs the whole suite with TF32 off, as PyTorch's own test suite does: the op tests compare
/// float32 products on every device with float32 references at float32 tolerances. Tf32Tests
/// turns it back on where it tests TF32 itself.
/// </summary>
[SetUpFixture]
public sealed class Float32Products
{
    /// <summary><see cref="GpuSettings.AllowTf32"/> as the library set it, before this fixture turned it off.</summary>
    public static bool LibraryDefault { get; private set; }

    [OneTimeSetUp]
    public void TurnTf32Off()
    {
        LibraryDefault = GpuSettings.AllowTf32;
        GpuSettings.AllowTf32 = false;
    }

    [OneTimeTearDown]
    public void Restore() => GpuSettings.AllowTf32 = LibraryDefault;
}
