using System.Runtime.InteropServices;

namespace Tensorium.Bench;

/// <summary>
/// Thin binding to OpenBLAS's cblas_sgemm, the reference the GEMM benchmarks compare against.
/// The library is loaded with <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/> and called
/// through a function pointer, so a machine without OpenBLAS gets <see cref="IsAvailable"/> = false
/// and a readable <see cref="Message"/> instead of a DllNotFoundException in the middle of a run.
/// </summary>
public static unsafe class OpenBlas
{
    // CBLAS enum values (cblas.h): CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private static readonly delegate* unmanaged<int, void> _setNumThreads;
    private static readonly delegate* unmanaged<IntPtr> _getCoreName;
    private static readonly delegate* unmanaged<int> _getNumThreads;

    /// <summary>True when libopenblas was found and exports cblas_sgemm.</summary>
    public static bool IsAvailable { get; }

    /// <summary>Which library was loaded, or why none was.</summary>
    public static string Message { get; }

    static OpenBlas()
    {
        // Debian/Ubuntu ship libopenblas.so.0; other systems use other names.
        string[] names = OperatingSystem.IsWindows()
            ? ["libopenblas.dll", "openblas.dll"]
            : OperatingSystem.IsMacOS()
                ? ["libopenblas.dylib", "libopenblas.0.dylib"]
                : ["libopenblas.so.0", "libopenblas.so", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"];
        foreach (string name in names)
        {
            if (!NativeLibrary.TryLoad(name, out IntPtr lib)) continue;
            if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out IntPtr sgemm)) continue;
            _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
            if (NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out IntPtr set))
                _setNumThreads = (delegate* unmanaged<int, void>)set;
            if (NativeLibrary.TryGetExport(lib, "openblas_get_corename", out IntPtr core))
                _getCoreName = (delegate* unmanaged<IntPtr>)core;
            if (NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out IntPtr count))
                _getNumThreads = (delegate* unmanaged<int>)count;
            IsAvailable = true;
            Message = $"OpenBLAS loaded from '{name}', core type {CoreName}.";
            return;
        }
        Message = "OpenBLAS not found (tried " + string.Join(", ", names) +
                  "); baseline benchmarks are skipped. On Debian/Ubuntu: apt-get install libopenblas0-pthread.";
    }

    /// <summary>The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "Zen"), or "unknown".</summary>
    public static string CoreName =>
        _getCoreName == null ? "unknown" : Marshal.PtrToStringAnsi(_getCoreName()) ?? "unknown";

    /// <summary>
    /// Sets OpenBLAS's thread count, and throws when the library will not run that many: a serial
    /// build (Debian's libopenblas0-serial can be the one libopenblas.so.0 names) ignores the
    /// setting, and every ratio would then set Tensorium's threads against one OpenBLAS thread.
    /// </summary>
    public static void SetThreads(int threads)
    {
        if (!IsAvailable) return;
        if (_setNumThreads != null) _setNumThreads(threads);
        int running = _getNumThreads != null ? _getNumThreads() : 1;
        if (running != threads)
            throw new InvalidOperationException($"OpenBLAS: asked for {threads} threads, it runs {running} " +
                "(a serial build, or one without openblas_set_num_threads); its figures would not be comparable. " +
                "Install the pthread build (Debian: apt-get install libopenblas0-pthread) or set TENSORIUM_BENCH_THREADS to match.");
    }

    /// <summary>Row-major C = alpha * op(A) * op(B) + beta * C, same argument order as Tensorium's Gemm.Sgemm.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (!IsAvailable) throw new InvalidOperationException(Message);
        _sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

/// <summary>
/// Edits the native process environment (what C libraries see through getenv). .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> only changes the managed copy on
/// Unix, which OpenBLAS never reads, so clearing OPENBLAS_CORETYPE before OpenBLAS loads needs libc.
/// </summary>
public static unsafe class NativeEnvironment
{
    /// <summary>Removes <paramref name="name"/> from the native and the managed environment (Linux/macOS; no-op elsewhere).</summary>
    public static void Unset(string name) => Set(name, null);

    /// <summary>
    /// Sets <paramref name="name"/> to <paramref name="value"/> (null removes it) in the managed
    /// environment and, on Linux/macOS, the native one (through libc's setenv/unsetenv).
    /// </summary>
    public static void Set(string name, string? value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (OperatingSystem.IsWindows()) return;
        string libc = OperatingSystem.IsMacOS() ? "libSystem.dylib" : "libc.so.6";
        if (!NativeLibrary.TryLoad(libc, out IntPtr lib) || !NativeLibrary.TryGetExport(lib, value == null ? "unsetenv" : "setenv", out IntPtr fn))
            return;
        IntPtr utf8Name = Marshal.StringToCoTaskMemUTF8(name), utf8Value = value == null ? IntPtr.Zero : Marshal.StringToCoTaskMemUTF8(value);
        try
        {
            int rc = value == null
                ? ((delegate* unmanaged<IntPtr, int>)fn)(utf8Name)
                : ((delegate* unmanaged<IntPtr, IntPtr, int, int>)fn)(utf8Name, utf8Value, 1);
            if (rc != 0) throw new InvalidOperationException($"NativeEnvironment.Set: libc could not {(value == null ? "unset" : "set")} {name}.");
        }
        finally
        {
            Marshal.FreeCoTaskMem(utf8Name);
            if (utf8Value != IntPtr.Zero) Marshal.FreeCoTaskMem(utf8Value);
        }
    }
}
