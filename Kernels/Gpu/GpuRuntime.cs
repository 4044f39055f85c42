namespace Tensorium.Kernels.Gpu;

/// <summary>What a GPU runtime reports about its device.</summary>
/// <param name="Name">The device's name, as its driver reports it.</param>
/// <param name="Vendor">The platform or vendor name.</param>
/// <param name="GlobalMemoryBytes">Device memory size.</param>
/// <param name="ComputeUnits">Multiprocessors (CUDA) or compute units (OpenCL).</param>
/// <param name="MaxWorkGroupSize">The largest work-group (thread block) the device runs.</param>
/// <param name="LocalMemoryBytes">Work-group (shared) memory per group.</param>
/// <param name="SupportsDouble">Whether float64 kernels can run.</param>
/// <param name="IsCpu">True for an OpenCL implementation running on the host CPU (PoCL).</param>
/// <param name="Driver">Driver version string, part of the compiled-program cache key.</param>
public sealed record GpuDeviceInfo(string Name, string Vendor, long GlobalMemoryBytes, int ComputeUnits,
    int MaxWorkGroupSize, long LocalMemoryBytes, bool SupportsDouble, bool IsCpu, string Driver);

/// <summary>A compiled kernel, ready to launch.</summary>
/// <param name="Name">The kernel function's name.</param>
/// <param name="Handle">cl_kernel (OpenCL) or CUfunction (CUDA).</param>
public sealed record GpuKernel(string Name, nint Handle);

/// <summary>
/// The host side of one GPU device: memory, compilation and launches. Two implementations share
/// this surface, <see cref="OpenCl.OpenClRuntime"/> and Cuda.CudaRuntime, so the
/// engine's GPU backend is written once. Launches are in order on one queue/stream; reads block.
/// </summary>
public abstract class GpuRuntime : IDisposable
{
    private readonly Dictionary<(string File, string Kernel, string Defines), GpuKernel> _kernels = new();
    private readonly Lock _compileLock = new();

    /// <summary>A runtime that keeps compiled programs in <paramref name="cache"/> (null: <see cref="ProgramCache.Default"/>).</summary>
    protected GpuRuntime(ProgramCache? cache) => Cache = cache ?? ProgramCache.Default;

    /// <summary>Where compiled programs are kept between processes.</summary>
    public ProgramCache Cache { get; }

    /// <summary>The dialect this runtime compiles the shared kernel source to.</summary>
    public abstract KernelDialect Dialect { get; }

    /// <summary>The device this runtime drives.</summary>
    public abstract GpuDeviceInfo Info { get; }

    /// <summary>Allocates device memory; throws <see cref="OutOfMemoryException"/> when the device is full.</summary>
    public abstract nint Allocate(long bytes);

    /// <summary>Releases memory from <see cref="Allocate"/>.</summary>
    public abstract void Free(nint buffer);

    /// <summary>Copies host bytes into a buffer at a byte offset (blocking).</summary>
    public abstract void Write(nint buffer, long offsetBytes, ReadOnlySpan<byte> source);

    /// <summary>Copies bytes from a buffer at a byte offset to the host, after all queued work (blocking).</summary>
    public abstract void Read(nint buffer, long offsetBytes, Span<byte> destination);

    /// <summary>Free and total device memory in bytes, for out-of-memory messages.</summary>
    public abstract (long Free, long Total) MemoryInfo();

    /// <summary>Waits for all queued work.</summary>
    public abstract void Synchronize();

    /// <summary>
    /// Queues <paramref name="kernel"/> over <paramref name="groups"/> work-groups of
    /// <paramref name="local"/> work-items each (both three-dimensional).
    /// </summary>
    public abstract void Launch(GpuKernel kernel, (int X, int Y, int Z) groups, (int X, int Y, int Z) local, KernelArgs args);

    /// <summary>
    /// How long the device took to run the work <paramref name="work"/> queues, in milliseconds:
    /// for benchmarks. Waits for earlier work first and for <paramref name="work"/>'s work after.
    /// </summary>
    public abstract double TimeMilliseconds(Action work);

    /// <summary>Compiles the full source text of one program and returns its kernels by name.</summary>
    protected abstract IReadOnlyDictionary<string, GpuKernel> Build(string file, string source, IReadOnlyList<string> defines);

    /// <summary>
    /// The kernel <paramref name="kernel"/> of source file <paramref name="file"/> (for example
    /// "elementwise"), compiled for this device with <paramref name="defines"/> (each "NAME=value"
    /// or "NAME"). Compiled once per (file, defines); later calls hit the in-memory cache.
    /// </summary>
    public GpuKernel Kernel(string file, string kernel, params string[] defines)
    {
        string key = string.Join(' ', defines);
        lock (_compileLock)
        {
            if (_kernels.TryGetValue((file, kernel, key), out var cached)) return cached;
            var built = Build(file, KernelSource.Compose(file, Dialect), defines);
            foreach (var (name, k) in built) _kernels[(file, name, key)] = k;
            return _kernels.TryGetValue((file, kernel, key), out var found)
                ? found
                : throw new ArgumentException($"gpu: kernel file '{file}' has no kernel named '{kernel}'.");
        }
    }

    /// <summary>Releases device resources.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases compiled programs, the queue and the context.</summary>
    protected abstract void Dispose(bool disposing);
}
