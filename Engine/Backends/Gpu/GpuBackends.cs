using Tensorium.Kernels.Gpu;
using Tensorium.Kernels.Gpu.Cuda;
using Tensorium.Kernels.Gpu.OpenCl;

namespace Tensorium;

/// <summary>
/// Opens each GPU device once, on first use, and keeps its backend (runtime, compiled kernels,
/// buffer pool) for the life of the process. A device that fails to open fails with the
/// runtime's message every time it is asked for, not with a cached wrong answer.
/// </summary>
internal static class GpuBackends
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Device, GpuBackend> Opened = new();
    private static readonly Lock OpenLock = new();
    private static readonly Lazy<IReadOnlyList<DeviceDescription>> Listed = new(List);

    /// <summary>The device's backend. Every op asks, so the opened case takes no lock.</summary>
    public static GpuBackend For(Device device)
    {
        if (Opened.TryGetValue(device, out var backend)) return backend;
        lock (OpenLock)   // opening compiles nothing yet, but must happen once per device
            return Opened.TryGetValue(device, out backend) ? backend : Opened[device] = new GpuBackend(device, Open(device));
    }

    /// <summary>The CPU, then every OpenCL device, then every CUDA device; asked of the drivers once per process.</summary>
    public static IReadOnlyList<DeviceDescription> Available() => Listed.Value;

    private static IReadOnlyList<DeviceDescription> List()
    {
        var list = new List<DeviceDescription>
        {
            new(Device.Cpu, "host CPU", "Tensorium SIMD", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, Environment.ProcessorCount, true, false),
        };
        var openCl = OpenClRuntime.DescribeDevices();
        for (int i = 0; i < openCl.Count; i++) list.Add(Describe(Device.OpenCL(i), openCl[i]));
        var cuda = CudaDevices();
        for (int i = 0; i < cuda.Count; i++) list.Add(Describe(Device.Cuda(i), cuda[i]));
        return list.AsReadOnly();
    }

    /// <summary>The CUDA devices, or none when the driver is missing, cuInit fails or a query fails: listing never throws.</summary>
    private static IReadOnlyList<GpuDeviceInfo> CudaDevices()
    {
        try
        {
            return CudaRuntime.DescribeDevices();
        }
        catch (Exception e) when (e is InvalidOperationException or OutOfMemoryException)
        {
            return [];
        }
    }

    private static DeviceDescription Describe(Device device, GpuDeviceInfo info) =>
        new(device, info.Name, info.Vendor, info.GlobalMemoryBytes, info.ComputeUnits, info.SupportsDouble, !info.IsCpu);

    private static GpuRuntime Open(Device device) => device.Kind switch
    {
        DeviceKind.OpenCL => new OpenClRuntime(device.Index),
        DeviceKind.Cuda => new CudaRuntime(device.Index),
        _ => throw new NotSupportedException($"{device}: no runtime for {device.Kind}."),
    };
}
