using System.Runtime.InteropServices;

namespace Tensorium.Kernels.Gpu.OpenCl;

/// <summary>
/// The OpenCL 1.2 entry points Tensorium uses, bound at run time from libOpenCL.so.1 (the ICD
/// loader) with <see cref="NativeLibrary.TryLoad(string, out nint)"/>: a machine without OpenCL
/// gets <see cref="IsAvailable"/> false and a clear message, never a DllNotFoundException.
/// </summary>
internal static unsafe class OpenClApi
{
    public const int Success = 0;
    public const int MemObjectAllocationFailure = -4, OutOfResources = -5, OutOfHostMemory = -6, BuildProgramFailure = -11, InvalidBufferSize = -61;
    public const ulong DeviceTypeAll = 0xFFFFFFFF, DeviceTypeCpu = 1 << 1;
    public const uint PlatformName = 0x0902, PlatformVersion = 0x0901;
    public const uint DeviceType = 0x1000, DeviceMaxComputeUnits = 0x1002, DeviceMaxWorkGroupSize = 0x1004,
        DeviceGlobalMemSize = 0x101F, DeviceLocalMemSize = 0x1023, DeviceName = 0x102B, DeviceVendor = 0x102C,
        DriverVersion = 0x102D, DeviceDoubleFpConfig = 0x1032;
    public const uint ProgramBuildLog = 0x1183, ProgramNumKernels = 0x1167, ProgramKernelNames = 0x1168,
        ProgramBinarySizes = 0x1165, ProgramBinaries = 0x1166;
    public const ulong MemReadWrite = 1;

    private static readonly nint Library = Load(out LoadError);
    /// <summary>Why the library did not load, when it did not.</summary>
    public static readonly string? LoadError;

    /// <summary>True when libOpenCL.so.1 (or OpenCL.dll) was found.</summary>
    public static bool IsAvailable => Library != 0;

    private static nint Load(out string? error)
    {
        KeepDotNetSigfpe();
        foreach (var name in new[] { "libOpenCL.so.1", "libOpenCL.so", "OpenCL.dll", "/System/Library/Frameworks/OpenCL.framework/OpenCL" })
            if (NativeLibrary.TryLoad(name, out var handle)) { error = null; return handle; }
        error = "no OpenCL platform: libOpenCL.so.1 was not found (on Debian: apt install ocl-icd-libopencl1 pocl-opencl-icd).";
        return 0;
    }

    /// <summary>
    /// PoCL (the CPU OpenCL driver) installs a process-wide SIGFPE handler that skips a faulting
    /// integer division; it takes the signal from .NET too, so after OpenCL loads, C# integer division
    /// by zero no longer throws DivideByZeroException (the CPU backend's int a / 0 gave 0, plain x / 0
    /// a NullReferenceException). POCL_SIGFPE_HANDLER=0 turns it off; it must be in the native
    /// environment (setenv, not Environment.SetEnvironmentVariable) before the driver initialises.
    /// </summary>
    private static void KeepDotNetSigfpe()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out var libc)) return;
        if (NativeLibrary.TryGetExport(libc, "setenv", out var setenv))
            fixed (byte* name = "POCL_SIGFPE_HANDLER\0"u8, value = "0\0"u8)
                ((delegate* unmanaged<byte*, byte*, int, int>)setenv)(name, value, 0);
    }

    private static nint Export(string name) =>
        Library != 0 && NativeLibrary.TryGetExport(Library, name, out var p) ? p : 0;

    public static readonly delegate* unmanaged<uint, nint*, uint*, int> GetPlatformIDs = (delegate* unmanaged<uint, nint*, uint*, int>)Export("clGetPlatformIDs");
    public static readonly delegate* unmanaged<nint, uint, nuint, void*, nuint*, int> GetPlatformInfo = (delegate* unmanaged<nint, uint, nuint, void*, nuint*, int>)Export("clGetPlatformInfo");
    public static readonly delegate* unmanaged<nint, ulong, uint, nint*, uint*, int> GetDeviceIDs = (delegate* unmanaged<nint, ulong, uint, nint*, uint*, int>)Export("clGetDeviceIDs");
    public static readonly delegate* unmanaged<nint, uint, nuint, void*, nuint*, int> GetDeviceInfo = (delegate* unmanaged<nint, uint, nuint, void*, nuint*, int>)Export("clGetDeviceInfo");
    public static readonly delegate* unmanaged<nint*, uint, nint*, nint, nint, int*, nint> CreateContext = (delegate* unmanaged<nint*, uint, nint*, nint, nint, int*, nint>)Export("clCreateContext");
    public static readonly delegate* unmanaged<nint, int> ReleaseContext = (delegate* unmanaged<nint, int>)Export("clReleaseContext");
    public static readonly delegate* unmanaged<nint, nint, ulong, int*, nint> CreateCommandQueue = (delegate* unmanaged<nint, nint, ulong, int*, nint>)Export("clCreateCommandQueue");
    public static readonly delegate* unmanaged<nint, int> ReleaseCommandQueue = (delegate* unmanaged<nint, int>)Export("clReleaseCommandQueue");
    public static readonly delegate* unmanaged<nint, ulong, nuint, void*, int*, nint> CreateBuffer = (delegate* unmanaged<nint, ulong, nuint, void*, int*, nint>)Export("clCreateBuffer");
    public static readonly delegate* unmanaged<nint, int> ReleaseMemObject = (delegate* unmanaged<nint, int>)Export("clReleaseMemObject");
    public static readonly delegate* unmanaged<nint, nint, uint, nuint, nuint, void*, uint, nint*, nint*, int> EnqueueWriteBuffer = (delegate* unmanaged<nint, nint, uint, nuint, nuint, void*, uint, nint*, nint*, int>)Export("clEnqueueWriteBuffer");
    public static readonly delegate* unmanaged<nint, nint, uint, nuint, nuint, void*, uint, nint*, nint*, int> EnqueueReadBuffer = (delegate* unmanaged<nint, nint, uint, nuint, nuint, void*, uint, nint*, nint*, int>)Export("clEnqueueReadBuffer");
    public static readonly delegate* unmanaged<nint, uint, byte**, nuint*, int*, nint> CreateProgramWithSource = (delegate* unmanaged<nint, uint, byte**, nuint*, int*, nint>)Export("clCreateProgramWithSource");
    public static readonly delegate* unmanaged<nint, uint, nint*, nuint*, byte**, int*, int*, nint> CreateProgramWithBinary = (delegate* unmanaged<nint, uint, nint*, nuint*, byte**, int*, int*, nint>)Export("clCreateProgramWithBinary");
    public static readonly delegate* unmanaged<nint, uint, nint*, byte*, nint, nint, int> BuildProgram = (delegate* unmanaged<nint, uint, nint*, byte*, nint, nint, int>)Export("clBuildProgram");
    public static readonly delegate* unmanaged<nint, nint, uint, nuint, void*, nuint*, int> GetProgramBuildInfo = (delegate* unmanaged<nint, nint, uint, nuint, void*, nuint*, int>)Export("clGetProgramBuildInfo");
    public static readonly delegate* unmanaged<nint, uint, nuint, void*, nuint*, int> GetProgramInfo = (delegate* unmanaged<nint, uint, nuint, void*, nuint*, int>)Export("clGetProgramInfo");
    public static readonly delegate* unmanaged<nint, int> ReleaseProgram = (delegate* unmanaged<nint, int>)Export("clReleaseProgram");
    public static readonly delegate* unmanaged<nint, byte*, int*, nint> CreateKernel = (delegate* unmanaged<nint, byte*, int*, nint>)Export("clCreateKernel");
    public static readonly delegate* unmanaged<nint, int> ReleaseKernel = (delegate* unmanaged<nint, int>)Export("clReleaseKernel");
    public static readonly delegate* unmanaged<nint, uint, nuint, void*, int> SetKernelArg = (delegate* unmanaged<nint, uint, nuint, void*, int>)Export("clSetKernelArg");
    public static readonly delegate* unmanaged<nint, nint, uint, nuint*, nuint*, nuint*, uint, nint*, nint*, int> EnqueueNDRangeKernel = (delegate* unmanaged<nint, nint, uint, nuint*, nuint*, nuint*, uint, nint*, nint*, int>)Export("clEnqueueNDRangeKernel");
    public static readonly delegate* unmanaged<nint, int> Finish = (delegate* unmanaged<nint, int>)Export("clFinish");

    /// <summary>Throws when an OpenCL call failed, naming the call and the error code.</summary>
    public static void Check(int status, string call)
    {
        if (status == Success) return;
        if (status is MemObjectAllocationFailure or OutOfResources or OutOfHostMemory)
            throw new OutOfMemoryException($"opencl: {call} ran out of device memory (error {status}).");
        throw new InvalidOperationException($"opencl: {call} failed with error {status} ({Describe(status)}).");
    }

    private static string Describe(int status) => status switch
    {
        -1 => "device not found", -2 => "device not available", -3 => "compiler not available",
        -11 => "build program failure", -42 => "invalid binary", -30 => "invalid value", -33 => "invalid device", -34 => "invalid context",
        -36 => "invalid command queue", -38 => "invalid mem object", -45 => "invalid program executable",
        -46 => "invalid kernel name", -48 => "invalid kernel", -49 => "invalid arg index", -50 => "invalid arg value",
        -51 => "invalid arg size", -52 => "invalid kernel args", -54 => "invalid work group size",
        -55 => "invalid work item size", -61 => "invalid buffer size",
        _ => "see the OpenCL error codes",
    };

    /// <summary>A string-valued device or platform query.</summary>
    public static string InfoString(delegate* unmanaged<nint, uint, nuint, void*, nuint*, int> query, nint handle, uint param)
    {
        nuint size;
        Check(query(handle, param, 0, null, &size), "clGet*Info");
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) Check(query(handle, param, size, p, null), "clGet*Info");
        return System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }

    /// <summary>A fixed-size (numeric) device query.</summary>
    public static T DeviceValue<T>(nint device, uint param) where T : unmanaged
    {
        T value = default;
        Check(GetDeviceInfo(device, param, (nuint)sizeof(T), &value, null), "clGetDeviceInfo");
        return value;
    }
}
