namespace Tensorium.Tests.Ops;

/// <summary>
/// Random small graphs (views, broadcasting binary ops, reductions, matmul, elementwise math),
/// seeded: each graph's float64 values are compared with a plain scalar reference and its
/// gradients with <see cref="GradCheck"/>. A failure names the seed, the device and the graph.
/// Thousands of cases on the CPU; on other devices (each op there is a kernel launch) fewer,
/// with gradients checked on a sample of each leaf's elements.
/// </summary>
[TestFixtureSource(typeof(Devices), nameof(Devices.All))]
public class RandomGraphTests(Device device)
{
    private const int MaxElements = 48;   // keeps GradCheck (two forward passes per element) fast

    /// <summary>One node of a random graph: how the engine builds it, how the reference computes it, and how it reads.</summary>
    private sealed record Node(int[] Shape, Func<Tensor[], Tensor> Eval, Func<double[][], double[]> Value, string Text);

    /// <summary>A graph: its output node and the leaves it reads (shape and values).</summary>
    private sealed record Graph(Node Root, List<(int[] Shape, double[] Values)> Leaves)
    {
        public override string ToString() =>
            Root.Text + " with " + string.Join(", ", Leaves.Select((l, i) => $"x{i}{Layout.Format(l.Shape)}"));
    }

    [Test]
    public void RandomGraphsMatchReferenceAndGradCheck()
    {
        int cases = device == Device.Cpu ? 2000 : 10;
        for (int seed = 1; seed <= cases; seed++)
        {
            var graph = Build(new Random(seed), seed);
            string? problem;
            try
            {
                problem = CheckCase(graph);
            }
            catch (Exception e)
            {
                problem = e.ToString();   // an engine error, or a bug in the reference: either way, name the graph
            }
            if (problem != null) Assert.Fail($"random graph seed {seed} on {device}: {graph}\n{problem}");
        }
    }

    /// <summary>Null when values and gradients are right, else what is wrong.</summary>
    private string? CheckCase(Graph graph)
    {
        using var scope = new TensorScope();
        var leaves = graph.Leaves.Select(l =>
        {
            var t = Tensor.FromSpan<double>(l.Values, l.Shape, device);
            t.RequiresGrad = true;
            return t;
        }).ToArray();
        var expected = graph.Root.Value(graph.Leaves.Select(l => l.Values).ToArray());
        var actual = graph.Root.Eval(leaves);
        if (!actual.Shape.SequenceEqual(graph.Root.Shape))
            return $"output shape {Layout.Format(actual.Shape)}, expected {Layout.Format(graph.Root.Shape)}";
        var values = actual.ToDoubleArray();
        for (int i = 0; i < values.Length; i++)
            if (!(Math.Abs(values[i] - expected[i]) <= 1e-10 + 1e-10 * Math.Abs(expected[i])))
                return $"value {i}: got {values[i]:G17}, reference {expected[i]:G17}";
        return GradCheck.Check(graph.Root.Eval, leaves,
            elementsPerInput: Reference.GradientSamples(device));
    }

    // ---- Building a random graph ------------------------------------------------------------

    private static Graph Build(Random rng, int seed)
    {
        var leaves = new List<(int[] Shape, double[] Values)>();
        Node NewLeaf(int[] shape, bool awayFromZero = false)
        {
            int i = leaves.Count;
            var values = Reference.Values(Ref.Count(shape), seed * 31 + i);
            if (awayFromZero) values = values.Select(Ref.AwayFromZero).ToArray();
            leaves.Add((shape, values));
            return new Node(shape, xs => xs[i], vs => vs[i], $"x{i}");
        }

        int rank = rng.Next(1, 4);
        var node = NewLeaf(Enumerable.Range(0, rank).Select(_ => rng.Next(1, 5)).ToArray());
        int steps = rng.Next(2, 6);
        for (int s = 0; s < steps; s++)
            node = rng.Next(9) switch
            {
                0 => Unary(rng, node),
                1 or 2 => WithLeaf(rng, node, NewLeaf),
                3 => WithItself(rng, node),
                4 => node.Shape.Length >= 2 ? Transpose(rng, node) : Unary(rng, node),
                5 => node.Shape.Any(d => d >= 2) ? Narrow(rng, node) : Unary(rng, node),
                6 => node.Shape.Length >= 1 ? Reduce(rng, node) : Unary(rng, node),
                7 => node.Shape.Length is 2 or 3 && Ref.Count(node.Shape) * 3 <= MaxElements ? MatMul(rng, node, NewLeaf) : Unary(rng, node),
                _ => Reshape(rng, node),
            };
        // GradCheck disposes f's output, so f must not return a leaf itself (every step may have been skipped).
        if (node.Text == "x0") node = Unary(rng, node);
        return new Graph(node, leaves);
    }

    private static Node Unary(Random rng, Node a)
    {
        (string Name, Func<Tensor, Tensor> Op, Func<double, double> F) u = rng.Next(4) switch
        {
            0 => ("tanh", t => t.Tanh(), Math.Tanh),
            1 => ("exp", t => t.Exp(), Math.Exp),
            2 => ("neg", t => t.Neg(), v => -v),
            _ => ("square", t => t.Square(), v => v * v),
        };
        return new(a.Shape, xs => u.Op(a.Eval(xs)), vs => a.Value(vs).Select(u.F).ToArray(), $"{u.Name}({a.Text})");
    }

    /// <summary>a op leaf, or leaf op a, with a new leaf whose shape broadcasts against a's (either side may grow).</summary>
    private static Node WithLeaf(Random rng, Node a, Func<int[], bool, Node> newLeaf)
    {
        int op = rng.Next(4);   // + - * /
        var shape = a.Shape;
        int drop = rng.Next(shape.Length + 1) / 2;   // fewer leading dims sometimes
        var leafShape = shape.Skip(drop).Select(d => d == 1 ? rng.Next(1, 4) : rng.Next(3) == 0 ? 1 : d).ToList();
        if (drop == 0 && shape.Length < 3 && rng.Next(4) == 0) leafShape.Insert(0, rng.Next(1, 3));   // a new leading dim
        var b = newLeaf(leafShape.ToArray(), op == 3);   // a divisor stays away from zero
        var outShape = BroadcastShape(a.Shape, b.Shape);
        if (Ref.Count(outShape) > MaxElements) return a;   // too big: skip this step
        bool leafFirst = op != 3 && rng.Next(2) == 0;
        return leafFirst ? Binary(op, b, a, outShape) : Binary(op, a, b, outShape);
    }

    /// <summary>a + a or a * a: the same intermediate used twice (a diamond in the graph).</summary>
    private static Node WithItself(Random rng, Node a) => Binary(rng.Next(2) == 0 ? 0 : 2, a, a, a.Shape);

    private static Node Binary(int op, Node a, Node b, int[] outShape)
    {
        string symbol = "+-*/"[op].ToString();
        Func<Tensor, Tensor, Tensor> engine = op switch { 0 => (x, y) => x + y, 1 => (x, y) => x - y, 2 => (x, y) => x * y, _ => (x, y) => x / y };
        Func<double, double, double> f = op switch { 0 => (x, y) => x + y, 1 => (x, y) => x - y, 2 => (x, y) => x * y, _ => (x, y) => x / y };
        return new(outShape,
            xs =>
            {
                var ta = a.Eval(xs);
                return engine(ta, ReferenceEquals(a, b) ? ta : b.Eval(xs));
            },
            vs =>
            {
                var va = a.Value(vs);
                var vb = b.Value(vs);
                return Enumerable.Range(0, Ref.Count(outShape)).Select(i =>
                {
                    var idx = Reference.Unravel(i, outShape);
                    return f(va[Reference.BroadcastFlat(idx, a.Shape)], vb[Reference.BroadcastFlat(idx, b.Shape)]);
                }).ToArray();
            },
            $"({a.Text} {symbol} {b.Text})");
    }

    private static Node Transpose(Random rng, Node a)
    {
        int rank = a.Shape.Length, d0 = rng.Next(rank), d1 = (d0 + 1 + rng.Next(rank - 1)) % rank;
        var order = Enumerable.Range(0, rank).ToArray();
        (order[d0], order[d1]) = (order[d1], order[d0]);
        return Permuted(a, order, xs => a.Eval(xs).Transpose(d0, d1), $"{a.Text}.T({d0},{d1})");
    }

    /// <summary>Output dim j is input dim order[j].</summary>
    private static Node Permuted(Node a, int[] order, Func<Tensor[], Tensor> eval, string text)
    {
        var outShape = order.Select(d => a.Shape[d]).ToArray();
        return new(outShape, eval, vs =>
        {
            var va = a.Value(vs);
            return Enumerable.Range(0, va.Length).Select(i =>
            {
                var outIdx = Reference.Unravel(i, outShape);
                var inIdx = new int[order.Length];
                for (int j = 0; j < order.Length; j++) inIdx[order[j]] = outIdx[j];
                return Ref.Get(va, a.Shape, inIdx);
            }).ToArray();
        }, text);
    }

    private static Node Narrow(Random rng, Node a)
    {
        var dims = Enumerable.Range(0, a.Shape.Length).Where(d => a.Shape[d] >= 2).ToArray();
        int dim = dims[rng.Next(dims.Length)], start = rng.Next(a.Shape[dim] - 1), length = rng.Next(1, a.Shape[dim] - start + 1);
        var outShape = (int[])a.Shape.Clone();
        outShape[dim] = length;
        return new(outShape, xs => a.Eval(xs).Narrow(dim, start, length), vs =>
        {
            var va = a.Value(vs);
            return Enumerable.Range(0, Ref.Count(outShape)).Select(i =>
            {
                var idx = Reference.Unravel(i, outShape);
                idx[dim] += start;
                return Ref.Get(va, a.Shape, idx);
            }).ToArray();
        }, $"{a.Text}.narrow({dim},{start},{length})");
    }

    private static Node Reduce(Random rng, Node a)
    {
        int rank = a.Shape.Length, axis = rng.Next(rank);
        bool keepDim = rng.Next(2) == 0, mean = rng.Next(2) == 0;
        var keptShape = a.Shape.Select((d, i) => i == axis ? 1 : d).ToArray();
        var outShape = keepDim ? keptShape : a.Shape.Where((_, i) => i != axis).ToArray();
        return new(outShape,
            xs => mean ? a.Eval(xs).Mean(axis, keepDim) : a.Eval(xs).Sum(axis, keepDim),
            vs =>
            {
                var va = a.Value(vs);
                var result = new double[Ref.Count(keptShape)];
                for (int i = 0; i < va.Length; i++)
                {
                    var idx = Reference.Unravel(i, a.Shape);
                    idx[axis] = 0;
                    result[Reference.BroadcastFlat(idx, keptShape)] += va[i];
                }
                return mean ? result.Select(v => v / a.Shape[axis]).ToArray() : result;
            },
            $"{a.Text}.{(mean ? "mean" : "sum")}({axis}{(keepDim ? ", keep" : "")})");
    }

    /// <summary>a @ leaf for a of rank 2 or 3 (a batch against one matrix).</summary>
    private static Node MatMul(Random rng, Node a, Func<int[], bool, Node> newLeaf)
    {
        int rank = a.Shape.Length, m = a.Shape[rank - 2], k = a.Shape[rank - 1], n = rng.Next(1, 4);
        var b = newLeaf([k, n], false);
        var outShape = a.Shape.Take(rank - 1).Append(n).ToArray();
        int batch = rank == 3 ? a.Shape[0] : 1;
        return new(outShape, xs => a.Eval(xs).MatMul(b.Eval(xs)), vs =>
        {
            var va = a.Value(vs);
            var vb = b.Value(vs);
            var result = new double[batch * m * n];
            for (int p = 0; p < batch; p++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double acc = 0;
                        for (int q = 0; q < k; q++) acc += va[(p * m + i) * k + q] * vb[q * n + j];
                        result[(p * m + i) * n + j] = acc;
                    }
            return result;
        }, $"({a.Text} @ {b.Text})");
    }

    /// <summary>Flatten to one dim, or insert a dim of size 1: row-major data is unchanged either way.</summary>
    private static Node Reshape(Random rng, Node a)
    {
        if (a.Shape.Length >= 2 && rng.Next(2) == 0)
            return new([Ref.Count(a.Shape)], xs => a.Eval(xs).Reshape(Ref.Count(a.Shape)), a.Value, $"{a.Text}.flatten()");
        if (a.Shape.Length >= 3) return a;
        int dim = rng.Next(a.Shape.Length + 1);
        var outShape = a.Shape.ToList();
        outShape.Insert(dim, 1);
        return new(outShape.ToArray(), xs => a.Eval(xs).Unsqueeze(dim), a.Value, $"{a.Text}.unsqueeze({dim})");
    }

    private static int[] BroadcastShape(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            result[i] = Math.Max(da, db);
        }
        return result;
    }
}
