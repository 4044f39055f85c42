using System.Runtime.InteropServices;

namespace Tensorium.Kernels.Gpu.Cuda;

/// <summary>
/// The CUDA driver API entry points Tensorium uses, bound at run time from libcuda.so.1 (the
/// driver, installed with the NVIDIA kernel module) with <see cref="NativeLibrary.TryLoad(string, out nint)"/>:
/// a machine without CUDA gets <see cref="IsAvailable"/> false and a clear message, never a
/// DllNotFoundException. The _v2 entry points are used wherever the header maps a name to one.
/// </summary>
internal static unsafe class CudaApi
{
    public const int Success = 0, ErrorInvalidValue = 1, ErrorOutOfMemory = 2, ErrorNotInitialized = 3, ErrorNoDevice = 100,
        ErrorInvalidDevice = 101, ErrorInvalidImage = 200, ErrorNoBinaryForGpu = 209, ErrorInvalidPtx = 218,
        ErrorUnsupportedPtxVersion = 222, ErrorNotFound = 500, ErrorInsufficientDriver = 35, ErrorCompatNotSupported = 804;

    /// <summary>CUdevice_attribute values.</summary>
    public const int AttrMaxThreadsPerBlock = 1, AttrMaxSharedMemoryPerBlock = 8, AttrMultiprocessorCount = 16,
        AttrComputeCapabilityMajor = 75, AttrComputeCapabilityMinor = 76;

    private static readonly nint Library = Load(out LoadError);
    /// <summary>Why the driver library did not load, when it did not.</summary>
    public static readonly string? LoadError;

    /// <summary>True when libcuda.so.1 (nvcuda.dll on Windows) was found.</summary>
    public static bool IsAvailable => Library != 0;

    private static nint Load(out string? error)
    {
        string[] names = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle)) { error = null; return handle; }
        error = OperatingSystem.IsWindows()
            ? "no CUDA driver: nvcuda.dll was not found (install the NVIDIA display driver)."
            : "no CUDA driver: libcuda.so.1 was not found (it comes with the NVIDIA driver; containers need the NVIDIA container toolkit).";
        return 0;
    }

    private static nint Export(string name) =>
        Library != 0 && NativeLibrary.TryGetExport(Library, name, out var p) ? p : 0;

    private static nint Export(string name, string fallback) => Export(name) is var p && p != 0 ? p : Export(fallback);

    public static readonly delegate* unmanaged<uint, int> Init = (delegate* unmanaged<uint, int>)Export("cuInit");
    public static readonly delegate* unmanaged<int*, int> DriverGetVersion = (delegate* unmanaged<int*, int>)Export("cuDriverGetVersion");
    public static readonly delegate* unmanaged<int*, int> DeviceGetCount = (delegate* unmanaged<int*, int>)Export("cuDeviceGetCount");
    public static readonly delegate* unmanaged<int*, int, int> DeviceGet = (delegate* unmanaged<int*, int, int>)Export("cuDeviceGet");
    public static readonly delegate* unmanaged<byte*, int, int, int> DeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Export("cuDeviceGetName");
    public static readonly delegate* unmanaged<int*, int, int, int> DeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Export("cuDeviceGetAttribute");
    public static readonly delegate* unmanaged<nuint*, int, int> DeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)Export("cuDeviceTotalMem_v2");
    public static readonly delegate* unmanaged<nint*, int, int> DevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)Export("cuDevicePrimaryCtxRetain");
    public static readonly delegate* unmanaged<int, int> DevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)Export("cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
    public static readonly delegate* unmanaged<nint, int> CtxSetCurrent = (delegate* unmanaged<nint, int>)Export("cuCtxSetCurrent");
    public static readonly delegate* unmanaged<int> CtxSynchronize = (delegate* unmanaged<int>)Export("cuCtxSynchronize");
    public static readonly delegate* unmanaged<ulong*, nuint, int> MemAlloc = (delegate* unmanaged<ulong*, nuint, int>)Export("cuMemAlloc_v2");
    public static readonly delegate* unmanaged<ulong, int> MemFree = (delegate* unmanaged<ulong, int>)Export("cuMemFree_v2");
    public static readonly delegate* unmanaged<ulong, void*, nuint, int> MemcpyHtoD = (delegate* unmanaged<ulong, void*, nuint, int>)Export("cuMemcpyHtoD_v2");
    public static readonly delegate* unmanaged<void*, ulong, nuint, int> MemcpyDtoH = (delegate* unmanaged<void*, ulong, nuint, int>)Export("cuMemcpyDtoH_v2");
    public static readonly delegate* unmanaged<nuint*, nuint*, int> MemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)Export("cuMemGetInfo_v2");
    public static readonly delegate* unmanaged<nint*, void*, int> ModuleLoadData = (delegate* unmanaged<nint*, void*, int>)Export("cuModuleLoadData");
    public static readonly delegate* unmanaged<nint*, nint, byte*, int> ModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)Export("cuModuleGetFunction");
    public static readonly delegate* unmanaged<nint, int> ModuleUnload = (delegate* unmanaged<nint, int>)Export("cuModuleUnload");
    public static readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> LaunchKernel =
        (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Export("cuLaunchKernel");
    public static readonly delegate* unmanaged<nint*, uint, int> EventCreate = (delegate* unmanaged<nint*, uint, int>)Export("cuEventCreate");
    public static readonly delegate* unmanaged<nint, nint, int> EventRecord = (delegate* unmanaged<nint, nint, int>)Export("cuEventRecord");
    public static readonly delegate* unmanaged<nint, int> EventSynchronize = (delegate* unmanaged<nint, int>)Export("cuEventSynchronize");
    public static readonly delegate* unmanaged<float*, nint, nint, int> EventElapsedTime = (delegate* unmanaged<float*, nint, nint, int>)Export("cuEventElapsedTime_v2", "cuEventElapsedTime");
    public static readonly delegate* unmanaged<nint, int> EventDestroy = (delegate* unmanaged<nint, int>)Export("cuEventDestroy_v2", "cuEventDestroy");
    public static readonly delegate* unmanaged<int, byte**, int> GetErrorName = (delegate* unmanaged<int, byte**, int>)Export("cuGetErrorName");

    private static readonly Lazy<string?> InitError = new(Initialize);

    /// <summary>
    /// Null when the driver loaded and cuInit(0) succeeded (once per process), else why not:
    /// "no CUDA driver: ..." or "cuInit failed with ...".
    /// </summary>
    public static string? UnavailableReason => LoadError ?? InitError.Value;

    private static string? Initialize()
    {
        if (Init == null || DeviceGetCount == null || CtxSetCurrent == null || MemAlloc == null || LaunchKernel == null)
            return "no CUDA driver: libcuda.so.1 loaded but lacks the CUDA driver API entry points Tensorium needs (driver too old?).";
        int status = Init(0);
        return status == Success ? null
            : $"cuInit failed with {ErrorName(status)} ({status}){(status == ErrorNoDevice ? ": the CUDA driver found no device" : status == ErrorInsufficientDriver ? ": the driver is older than this CUDA runtime needs" : "")}.";
    }

    /// <summary>The CUDA_ERROR_* name of a result code.</summary>
    public static string ErrorName(int status)
    {
        byte* name = null;
        if (GetErrorName != null && GetErrorName(status, &name) == Success && name != null)
            return Marshal.PtrToStringUTF8((nint)name) ?? $"CUDA error {status}";
        return $"CUDA error {status}";
    }

    /// <summary>Throws when a driver call failed, naming the call and the error; out of memory is an <see cref="OutOfMemoryException"/>.</summary>
    public static void Check(int status, string call)
    {
        if (status == Success) return;
        if (status == ErrorOutOfMemory)
            throw new OutOfMemoryException($"cuda: {call} ran out of device memory ({ErrorName(status)}).");
        throw new InvalidOperationException($"cuda: {call} failed with {ErrorName(status)} ({status}).");
    }

    /// <summary>A device attribute (CUdevice_attribute).</summary>
    public static int Attribute(int device, int attribute)
    {
        int value;
        Check(DeviceGetAttribute(&value, attribute, device), $"cuDeviceGetAttribute({attribute})");
        return value;
    }
}
