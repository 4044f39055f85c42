using System.Collections.Immutable;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Running;

namespace Tensorium.Bench;

/// <summary>
/// Runs a benchmark class's cases parameter set by parameter set: Tensorium and its reference for
/// one shape back to back (which goes first alternates from shape to shape), then the next shape.
/// </summary>
/// <remarks>
/// BenchmarkDotNet's default runs every shape of one method, then every shape of the next, so a
/// pair compared in the Ratio column ran a minute or more apart, and on a shared 2-core machine the
/// speed drifts by 10-25% over that time (the first cases also run while the build's processes wind
/// down). Back to back, the two sides of a ratio see nearly the same machine.
/// </remarks>
public sealed class PairedOrderer : DefaultOrderer
{
    /// <inheritdoc />
    public override IEnumerable<BenchmarkCase> GetExecutionOrder(ImmutableArray<BenchmarkCase> benchmarkCases,
        IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
        base.GetExecutionOrder(benchmarkCases, order)
            .GroupBy(c => (c.Descriptor.Type, c.Parameters.DisplayInfo))
            .SelectMany((pair, i) => i % 2 == 0 ? pair : pair.Reverse());
}
