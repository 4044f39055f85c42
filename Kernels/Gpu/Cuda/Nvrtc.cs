using System.Text;
using static Tensorium.Kernels.Gpu.Cuda.NvrtcApi;

namespace Tensorium.Kernels.Gpu.Cuda;

/// <summary>The outcome of one NVRTC compilation.</summary>
/// <param name="Success">True when NVRTC produced PTX.</param>
/// <param name="Log">The compiler's log (errors and warnings); empty when it had nothing to say.</param>
/// <param name="Ptx">The PTX text, NUL-terminated as cuModuleLoadData takes it; null on failure.</param>
public sealed record NvrtcResult(bool Success, string Log, byte[]? Ptx);

/// <summary>
/// CUDA C++ to PTX at run time, through NVRTC. Needs no GPU and no driver, so the CUDA kernels
/// can be compile-checked on any machine that has the library (see <see cref="UnavailableReason"/>
/// for how it is found).
/// </summary>
public static unsafe class Nvrtc
{
    private static readonly Lock CompileLock = new();

    /// <summary>True when an NVRTC library was found and bound.</summary>
    public static bool IsAvailable => NvrtcApi.IsAvailable;

    /// <summary>Why NVRTC cannot be used ("NVRTC not found: tried ..."), or null when it can.</summary>
    public static string? UnavailableReason => IsAvailable ? null
        : LoadError ?? $"NVRTC not found: {LoadedFrom} lacks the NVRTC entry points (nvrtcCreateProgram, nvrtcCompileProgram, nvrtcGetPTX).";

    /// <summary>The library NVRTC was loaded from (a file name or the TENSORIUM_NVRTC path), or null.</summary>
    public static string? Library => LoadedFrom;

    /// <summary>NVRTC's version (for example 11.8); 0.0 when it is not available.</summary>
    public static Version Version
    {
        get
        {
            if (!IsAvailable || NvrtcApi.Version == null) return new Version(0, 0);
            int major, minor;
            return NvrtcApi.Version(&major, &minor) == Success ? new Version(major, minor) : new Version(0, 0);
        }
    }

    /// <summary>
    /// The virtual architectures this NVRTC compiles for, as compute capabilities times ten
    /// (for example 52, 80, 90), ascending; empty when NVRTC is absent or too old to say.
    /// </summary>
    public static IReadOnlyList<int> SupportedArchitectures
    {
        get
        {
            if (!IsAvailable || GetNumSupportedArchs == null || GetSupportedArchs == null) return [];
            int count;
            if (GetNumSupportedArchs(&count) != Success || count <= 0) return [];
            var archs = new int[count];
            fixed (int* a = archs) if (GetSupportedArchs(a) != Success) return [];
            Array.Sort(archs);
            return archs;
        }
    }

    /// <summary>
    /// The --gpu-architecture value for a device of compute capability major.minor: compute_XY,
    /// clamped down to the newest architecture this NVRTC supports (the driver JIT-compiles PTX
    /// forward to newer GPUs). Throws when the device is older than anything NVRTC supports.
    /// </summary>
    public static string Architecture(int major, int minor)
    {
        int wanted = major * 10 + minor;
        var supported = SupportedArchitectures;
        if (supported.Count == 0) return $"compute_{wanted}";
        int best = supported.Where(a => a <= wanted).DefaultIfEmpty(-1).Max();
        if (best < 0)
            throw new NotSupportedException(
                $"cuda: the device has compute capability {major}.{minor}; NVRTC {Version} compiles for compute_{supported[0]} to compute_{supported[^1]} only.");
        return $"compute_{best}";
    }

    /// <summary>
    /// Compiles CUDA C++ <paramref name="source"/> (named <paramref name="programName"/> in
    /// diagnostics) with the NVRTC <paramref name="options"/> (for example
    /// "--gpu-architecture=compute_80", "-DREAL=float"). Compile errors come back in the result;
    /// a missing library throws <see cref="InvalidOperationException"/> with <see cref="UnavailableReason"/>.
    /// </summary>
    public static NvrtcResult Compile(string source, string programName, IReadOnlyList<string> options)
    {
        if (!IsAvailable) throw new InvalidOperationException(UnavailableReason);
        byte[] text = Encoding.UTF8.GetBytes(source + "\0");
        byte[] name = Encoding.UTF8.GetBytes(programName + "\0");
        byte[][] optionBytes = options.Select(o => Encoding.UTF8.GetBytes(o + "\0")).ToArray();
        var handles = new System.Runtime.InteropServices.GCHandle[optionBytes.Length];
        var pointers = new nint[optionBytes.Length];
        lock (CompileLock)   // older NVRTC releases are not safe to call from several threads at once
        {
            try
            {
                for (int i = 0; i < optionBytes.Length; i++)
                {
                    handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(optionBytes[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                    pointers[i] = handles[i].AddrOfPinnedObject();
                }
                nint program;
                fixed (byte* s = text, n = name)
                    Check(CreateProgram(&program, s, n, 0, null, null), "nvrtcCreateProgram");
                try
                {
                    int status;
                    fixed (nint* o = pointers) status = CompileProgram(program, pointers.Length, (byte**)o);
                    string log = ProgramLog(program);
                    if (status != Success)
                        return new NvrtcResult(false, log.Length > 0 ? log : ErrorString(status), null);
                    nuint size;
                    Check(GetPTXSize(program, &size), "nvrtcGetPTXSize");
                    var ptx = new byte[(int)size];
                    fixed (byte* p = ptx) Check(GetPTX(program, p), "nvrtcGetPTX");
                    return new NvrtcResult(true, log, ptx);
                }
                finally
                {
                    DestroyProgram(&program);
                }
            }
            finally
            {
                foreach (var h in handles) if (h.IsAllocated) h.Free();
            }
        }
    }

    private static string ProgramLog(nint program)
    {
        nuint size;
        if (GetProgramLogSize(program, &size) != Success || size <= 1) return "";
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes) if (GetProgramLog(program, p) != Success) return "";
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }
}
