using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Tensorium.Bench;

/// <summary>
/// Implemented by a benchmark class to say how much work one call of a benchmark method does,
/// so <see cref="ThroughputColumn"/> can turn the measured time into GFLOP/s or GB/s.
/// The column creates a fresh instance and sets its [Params]/[ParamsSource] members before asking,
/// so the answer may depend on them, but must not need [GlobalSetup] to have run.
/// </summary>
public interface IWorkload
{
    /// <summary>Floating-point operations one call of <paramref name="method"/> performs; 0 when not meaningful.</summary>
    double Flops(string method) => 0;

    /// <summary>Bytes one call of <paramref name="method"/> reads plus writes; 0 when not meaningful.</summary>
    double Bytes(string method) => 0;

    /// <summary>
    /// Bytes that must cross memory at least once (inputs read, outputs written once), for the
    /// roofline's arithmetic intensity; 0 leaves the benchmark off the roofline.
    /// </summary>
    double MinimumBytes(string method) => 0;
}

/// <summary>
/// A summary column computing throughput (GFLOP/s or GB/s) from a benchmark's <see cref="IWorkload"/>
/// and its median time per operation (the median, not the mean: on a shared machine an unlucky
/// iteration only ever makes things slower, and the median ignores a few of those).
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    private readonly bool _flops;

    private ThroughputColumn(bool flops) => _flops = flops;

    /// <summary>GFLOP/s column (10^9 floating-point operations per second).</summary>
    public static readonly ThroughputColumn GFlops = new(true);

    /// <summary>GB/s column (10^9 bytes per second).</summary>
    public static readonly ThroughputColumn GBytes = new(false);

    /// <inheritdoc />
    public string Id => _flops ? "Tensorium.GFlops" : "Tensorium.GBytes";
    /// <inheritdoc />
    public string ColumnName => _flops ? "GFLOP/s" : "GB/s";
    /// <inheritdoc />
    public bool AlwaysShow => true;
    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc />
    public int PriorityInCategory => _flops ? 0 : 1;
    /// <inheritdoc />
    public bool IsNumeric => true;
    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc />
    public string Legend => _flops
        ? "Floating-point throughput: work per call (IWorkload.Flops) / median time, in 10^9 FLOP/s"
        : "Memory throughput: bytes per call (IWorkload.Bytes) / median time, in 10^9 B/s";

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <summary>Shown only when some benchmark in the summary reports this kind of work.</summary>
    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => Work(c) > 0);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double work = Work(benchmarkCase);
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (work <= 0 || stats == null || stats.Median <= 0) return "-";
        // Times are in nanoseconds, so work / ns is already in units of 10^9 per second.
        return (work / stats.Median).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    private double Work(BenchmarkCase benchmarkCase) =>
        WorkOf(benchmarkCase, (w, method) => _flops ? w.Flops(method) : w.Bytes(method));

    /// <summary>
    /// Asks a fresh instance of the benchmark's class (with this case's parameters set) for one
    /// <see cref="IWorkload"/> figure of the case's method; 0 when the class does not say.
    /// </summary>
    public static double WorkOf(BenchmarkCase benchmarkCase, Func<IWorkload, string, double> figure)
    {
        Type type = benchmarkCase.Descriptor.Type;
        if (!typeof(IWorkload).IsAssignableFrom(type)) return 0;
        try
        {
            var instance = (IWorkload)Activator.CreateInstance(type)!;
            foreach (var parameter in benchmarkCase.Parameters.Items)
            {
                const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance;
                if (type.GetProperty(parameter.Name, flags) is { CanWrite: true } property)
                    property.SetValue(instance, parameter.Value);
                else
                    type.GetField(parameter.Name, flags)?.SetValue(instance, parameter.Value);
            }
            return figure(instance, benchmarkCase.Descriptor.WorkloadMethod.Name);
        }
        catch (Exception)
        {
            return 0; // a benchmark whose work cannot be computed simply shows "-"
        }
    }
}
