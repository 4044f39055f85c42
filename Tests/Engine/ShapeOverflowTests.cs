namespace Tensorium.Tests.Engine;

/// <summary>
/// A shape whose element count does not fit a tensor (more than int.MaxValue elements) must be an
/// error naming the op at every place a shape is made or reshaped, never a tensor of the wrapped
/// count (65536^4 wraps a 64-bit product to 0).
/// </summary>
public class ShapeOverflowTests
{
    private static readonly int[] Huge = [65536, 65536, 65536, 65536];
    private const string HugeText = "shape [65536, 65536, 65536, 65536] has 18446744073709551616 elements; a tensor holds at most 2147483647 (int.MaxValue).";

    private static void AssertTooBig(string op, TestDelegate call, string text = HugeText)
    {
        var error = Assert.Throws<ArgumentException>(call)!;
        Assert.That(error.Message, Does.StartWith($"{op}: {text}"));
    }

    [Test]
    public void Factories() => Assert.Multiple(() =>
    {
        AssertTooBig("full", () => Tensor.Zeros(Huge));
        AssertTooBig("full", () => Tensor.Ones(Huge));
        AssertTooBig("full", () => Tensor.Full(Huge, 2));
        AssertTooBig("uniform", () => Tensor.Uniform(Huge));
        AssertTooBig("normal", () => Tensor.Normal(Huge));
        AssertTooBig("bernoulli", () => Tensor.Bernoulli(Huge, 0.5));
        AssertTooBig("from_array", () => Tensor.FromSpan<float>([1f], Huge));
        AssertTooBig("from_bytes", () => Tensor.FromBytes(new byte[4], DType.Float32, Huge));
        AssertTooBig("create", () => Tensor.Create<float, int>(Huge, 0, (_, _) => { }));
    });

    [Test]
    public void ProductJustOverTheLimitIsCaughtToo() =>
        AssertTooBig("full", () => Tensor.Zeros([65536, 32768]),
            "shape [65536, 32768] has 2147483648 elements; a tensor holds at most 2147483647 (int.MaxValue).");

    [Test]
    public void ZeroSizedDimensionMakesAnyShapeEmpty()
    {
        // A 0 anywhere makes the product 0, however large the other sizes (as in PyTorch).
        using var t = Tensor.Zeros([65536, 65536, 65536, 0]);
        Assert.That(t.Count, Is.EqualTo(0));
    }

    [Test]
    public void ReshapeAndView()
    {
        // An empty tensor: its 0 elements equal the wrapped count of the huge shape.
        using var empty = Tensor.Zeros([0]);
        Assert.Multiple(() =>
        {
            AssertTooBig("reshape", () => empty.Reshape(Huge));
            AssertTooBig("view", () => empty.ViewAs(Huge));
        });
    }

    [Test]
    public void Expand()
    {
        using var one = Tensor.Ones([1]);
        AssertTooBig("expand", () => one.Expand(Huge));
    }

    [Test]
    public void ConcatAndStack()
    {
        // Broadcast views of 2^30 elements each: no memory behind them, so the check must come before allocating.
        using var one = Tensor.Ones([1]);
        using var wide = one.Expand(65536, 16384);
        using var flat = one.Expand(1 << 30);
        Assert.Multiple(() =>
        {
            AssertTooBig("concat", () => Joining.Concat([wide, wide, wide], 1),
                "shape [65536, 49152] has 3221225472 elements; a tensor holds at most 2147483647 (int.MaxValue).");
            // The length along the joined dimension itself overflows an int here.
            AssertTooBig("concat", () => Joining.Concat([flat, flat, flat], 0),
                "shape [3221225472] has 3221225472 elements; a tensor holds at most 2147483647 (int.MaxValue).");
            AssertTooBig("stack", () => Joining.Stack([flat, flat, flat]),
                "shape [3, 1073741824] has 3221225472 elements; a tensor holds at most 2147483647 (int.MaxValue).");
        });
    }

    [Test]
    public void Arange() =>
        AssertTooBig("arange", () => Tensor.Arange(0, 3e9),
            "shape [3000000000] has 3000000000 elements; a tensor holds at most 2147483647 (int.MaxValue).");
}
