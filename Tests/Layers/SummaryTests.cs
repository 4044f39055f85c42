using Tensorium.Layers;

namespace Tensorium.Tests.Layers;

/// <summary>Module.Summary walks every registered child of any module, with channels-first shapes (issue 16).</summary>
public class SummaryTests
{
    /// <summary>A custom module: a conv stem run through Call, a nested Sequential, a head run with Forward, and a weight of its own.</summary>
    private sealed class Custom : Module
    {
        private readonly Conv2d _stem;
        private readonly Sequential _body;
        private readonly Linear _head;
        private readonly Tensor _scale;

        public Custom()
        {
            _stem = RegisterModule("stem", new Conv2d(1, 4, 3, generator: new Generator(1)));
            _body = RegisterModule("body", new Sequential(new ReLU(), new MaxPool2d(2), new Flatten()));
            _head = RegisterModule("head", new Linear(4 * 3 * 3, 5, generator: new Generator(2)));
            _scale = RegisterParameter("scale", Tensor.Ones([5]));
        }

        public override Tensor Forward(Tensor input)
        {
            using var stem = _stem.Call(input);
            using var body = _body.Call(stem);
            using var head = _head.Forward(body);
            return head.Mul(_scale);
        }
    }

    [Test]
    public void ACustomModuleListsEveryChildWithNchwShapes()
    {
        using var model = new Custom();
        string summary = model.Summary(2, 1, 8, 8);
        TestContext.Out.WriteLine(summary);
        string[] lines = summary.Split('\n');
        string Row(string start) => lines.Single(l => l.StartsWith(start));

        Assert.That(Row("stem (Conv2d)"), Does.Contain("(None, 4, 6, 6)").And.EndWith("40"), "channels first: 4 channels of 6x6");
        Assert.That(Row("body (Sequential)"), Does.Contain("(None, 36)"));
        Assert.That(Row("  body.1 (MaxPool2d)"), Does.Contain("(None, 4, 3, 3)"), "children of a nested container, indented");
        Assert.That(Row("  body.2 (Flatten)"), Does.Contain("(None, 36)"));
        Assert.That(Row("head (Linear)"), Does.Contain("?").And.EndWith("185"), "run with Forward: shape unknown, parameters counted");
        Assert.That(summary, Does.Contain("Output shape: (None, 5)").And.Contain("Total params: 230").And.Contain("? = not run through"));
        long column = lines.Where(l => l.Contains(" (")).Select(l => l.Trim().Split(' ')[^1].Replace(",", ""))
            .Where(v => long.TryParse(v, out _)).Sum(long.Parse);
        Assert.That(Row("(Custom)"), Does.Contain("(None, 5)").And.EndWith("5"), "the model's own parameters get a row");
        Assert.That(column, Is.EqualTo(230), "each row counts its own parameters, so the column adds up to the total");
        Assert.That(model.Training, Is.True, "the summary leaves the mode alone");
    }

    [Test]
    public void ALeafModuleIsOneRowAndABadShapeIsRejected()
    {
        using var layer = new Linear(3, 2, generator: new Generator(3));
        string summary = layer.Summary(4, 3);
        Assert.That(summary, Does.Contain("(Linear)").And.Contain("(None, 2)").And.Contain("Total params: 8"));
        var e = Assert.Throws<ArgumentException>(() => layer.Summary(0, 3));
        Assert.That(e!.Message, Does.Contain("Linear.Summary").And.Contain("[0, 3]"));
    }

    [Test]
    public void AModelThatStartsWithAnEmbeddingIsTracedWithTokenIds()
    {
        using var model = new Sequential(new Embedding(50, 8, generator: new Generator(4)), new Linear(8, 3, generator: new Generator(5)));
        Assert.That(() => model.Summary(2, 7), Throws.Exception, "float zeros are not token ids");
        string summary = model.Summary(DType.Int64, 2, 7);
        Assert.That(summary, Does.Contain("(None, 7, 8)").And.Contain("(None, 7, 3)").And.Contain("Total params: 427"));
    }
}
