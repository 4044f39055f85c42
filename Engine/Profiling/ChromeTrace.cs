using System.Text.Json;

namespace Tensorium.Profiling;

/// <summary>
/// Writes a profiler's ops in the Chrome trace-event format (JSON object form), which Perfetto
/// (ui.perfetto.dev) and chrome://tracing open: one complete ("X") event per op with its name,
/// category (forward or backward), start and duration in microseconds, process and thread ids,
/// and its shapes, dtype, device, FLOPs and bytes as arguments; plus "M" metadata events that
/// name the process and each thread, so every thread that ran ops gets a track of its own.
/// </summary>
public static class ChromeTrace
{
    /// <summary>Writes <paramref name="profiler"/>'s trace to <paramref name="path"/> (creating its folder).</summary>
    public static void Write(Profiler profiler, string path)
    {
        ArgumentNullException.ThrowIfNull(profiler);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder != null) Directory.CreateDirectory(folder);
        using var stream = File.Create(path);
        Write(profiler, stream);
    }

    /// <summary>Writes <paramref name="profiler"/>'s trace to <paramref name="stream"/> as UTF-8 JSON.</summary>
    public static void Write(Profiler profiler, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(profiler);
        ArgumentNullException.ThrowIfNull(stream);
        int pid = Environment.ProcessId;
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("displayTimeUnit", "ms");
        json.WriteStartArray("traceEvents");

        Metadata(json, "process_name", pid, 0, "Tensorium");
        foreach (var (tid, name) in profiler.ThreadNames.OrderBy(t => t.Key))
            Metadata(json, "thread_name", pid, tid, name);

        // Per thread in start order, so each track's timestamps only go forward.
        foreach (var op in profiler.Ops.OrderBy(op => op.ThreadId).ThenBy(op => op.Start))
        {
            json.WriteStartObject();
            json.WriteString("name", op.Name);
            json.WriteString("cat", op.Phase == ProfilePhase.Backward ? "backward" : "forward");
            json.WriteString("ph", "X");
            json.WriteNumber("ts", op.Start.TotalMicroseconds);
            json.WriteNumber("dur", Math.Max(0, op.Duration.TotalMicroseconds));
            json.WriteNumber("pid", pid);
            json.WriteNumber("tid", op.ThreadId);
            json.WriteStartObject("args");
            json.WriteString("shapes", op.Shapes);
            json.WriteString("dtype", op.DType.Name());
            json.WriteString("device", op.Device.ToString());
            json.WriteNumber("flops", op.Flops);
            json.WriteNumber("bytes", op.Bytes);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Metadata(Utf8JsonWriter json, string kind, int pid, int tid, string name)
    {
        json.WriteStartObject();
        json.WriteString("name", kind);
        json.WriteString("ph", "M");
        json.WriteNumber("pid", pid);
        json.WriteNumber("tid", tid);
        json.WriteStartObject("args");
        json.WriteString("name", name);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
