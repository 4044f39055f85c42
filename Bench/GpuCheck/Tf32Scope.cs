namespace Tensorium.GpuCheck;

/// <summary>
/// Sets <see cref="GpuSettings.AllowTf32"/> until disposed, then restores what it was: the float32
/// parity cases and the sgemm benchmark run with TF32 off (exact float32 kernels), the TF32 ones on.
/// </summary>
internal readonly struct Tf32Scope : IDisposable
{
    private readonly bool _before;

    public Tf32Scope(bool allow)
    {
        _before = GpuSettings.AllowTf32;
        GpuSettings.AllowTf32 = allow;
    }

    public void Dispose() => GpuSettings.AllowTf32 = _before;
}
