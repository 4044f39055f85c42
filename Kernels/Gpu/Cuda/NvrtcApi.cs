using System.Runtime.InteropServices;

namespace Tensorium.Kernels.Gpu.Cuda;

/// <summary>
/// The NVRTC (run-time CUDA C++ compiler) entry points, bound at run time. The library is found
/// by the environment variable TENSORIUM_NVRTC (an exact file name or path, used instead of the
/// search), else the first of libnvrtc.so.13, .so.12, .so.11.2 and libnvrtc.so that loads. NVRTC
/// needs no GPU: it only turns CUDA C++ into PTX.
/// </summary>
internal static unsafe class NvrtcApi
{
    public const int Success = 0, CompilationError = 6;

    /// <summary>The environment variable naming the NVRTC library to use instead of the search.</summary>
    public const string EnvironmentVariable = "TENSORIUM_NVRTC";

    // Declared before Library: static fields initialise in text order.
    /// <summary>The library names searched, in order, when TENSORIUM_NVRTC is not set.</summary>
    public static readonly IReadOnlyList<string> SearchNames = OperatingSystem.IsWindows()
        ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"]
        : ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"];

    private static readonly nint Library = Load(out LoadError, out LoadedFrom);
    /// <summary>Why NVRTC did not load, when it did not.</summary>
    public static readonly string? LoadError;
    /// <summary>The name or path NVRTC was loaded from.</summary>
    public static readonly string? LoadedFrom;

    /// <summary>True when an NVRTC library loaded and has the entry points Tensorium needs.</summary>
    public static bool IsAvailable => Library != 0 && CreateProgram != null && CompileProgram != null && GetPTX != null;

    private static nint Load(out string? error, out string? loadedFrom)
    {
        string? chosen = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(chosen))
        {
            if (NativeLibrary.TryLoad(chosen, out var handle)) { error = null; loadedFrom = chosen; return handle; }
            error = $"NVRTC not found: {EnvironmentVariable}={chosen} could not be loaded.";
            loadedFrom = null;
            return 0;
        }
        foreach (var name in SearchNames)
            if (NativeLibrary.TryLoad(name, out var handle)) { error = null; loadedFrom = name; return handle; }
        error = $"NVRTC not found: tried {string.Join(", ", SearchNames)} (on Debian: apt install libnvrtc11.2, or set {EnvironmentVariable} to the library's path).";
        loadedFrom = null;
        return 0;
    }

    private static nint Export(string name) =>
        Library != 0 && NativeLibrary.TryGetExport(Library, name, out var p) ? p : 0;

    public static readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> CreateProgram =
        (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Export("nvrtcCreateProgram");
    public static readonly delegate* unmanaged<nint, int, byte**, int> CompileProgram = (delegate* unmanaged<nint, int, byte**, int>)Export("nvrtcCompileProgram");
    public static readonly delegate* unmanaged<nint, nuint*, int> GetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)Export("nvrtcGetProgramLogSize");
    public static readonly delegate* unmanaged<nint, byte*, int> GetProgramLog = (delegate* unmanaged<nint, byte*, int>)Export("nvrtcGetProgramLog");
    public static readonly delegate* unmanaged<nint, nuint*, int> GetPTXSize = (delegate* unmanaged<nint, nuint*, int>)Export("nvrtcGetPTXSize");
    public static readonly delegate* unmanaged<nint, byte*, int> GetPTX = (delegate* unmanaged<nint, byte*, int>)Export("nvrtcGetPTX");
    public static readonly delegate* unmanaged<nint*, int> DestroyProgram = (delegate* unmanaged<nint*, int>)Export("nvrtcDestroyProgram");
    public static readonly delegate* unmanaged<int*, int*, int> Version = (delegate* unmanaged<int*, int*, int>)Export("nvrtcVersion");
    public static readonly delegate* unmanaged<int*, int> GetNumSupportedArchs = (delegate* unmanaged<int*, int>)Export("nvrtcGetNumSupportedArchs");
    public static readonly delegate* unmanaged<int*, int> GetSupportedArchs = (delegate* unmanaged<int*, int>)Export("nvrtcGetSupportedArchs");
    public static readonly delegate* unmanaged<int, byte*> GetErrorString = (delegate* unmanaged<int, byte*>)Export("nvrtcGetErrorString");

    /// <summary>The NVRTC_ERROR_* text of a result code.</summary>
    public static string ErrorString(int status) =>
        GetErrorString != null && GetErrorString(status) is var s && s != null
            ? Marshal.PtrToStringUTF8((nint)s) ?? $"NVRTC error {status}"
            : $"NVRTC error {status}";

    /// <summary>Throws when an NVRTC call failed.</summary>
    public static void Check(int status, string call)
    {
        if (status != Success) throw new InvalidOperationException($"nvrtc: {call} failed with {ErrorString(status)} ({status}).");
    }
}
