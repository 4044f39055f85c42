using Tensorium.Kernels.Ops;

namespace Tensorium.Tests.Kernels;

/// <summary>The recurrent kernels' geometry check: sizes, and sequences too long for their int strides.</summary>
public class RecurrentGeometryTests
{
    [Test]
    public void ASequenceTooLongForTheKernelsStridesIsRefused()
    {
        // 600,000 steps of an LSTM with 1024 units: 4096 gate values a step, 2.46e9 a batch row.
        var tooLong = new RecurrentGeometry(RecurrentCell.Lstm, 1, 600_000, 16, 1024);
        var e = Assert.Throws<ArgumentException>(() => tooLong.Validate());
        Assert.That(e!.Message, Does.Contain("lstm").And.Contain("600000 steps"));
        Assert.That(() => new RecurrentGeometry(RecurrentCell.Lstm, 1, 500_000, 16, 1024).Validate(), Throws.Nothing);
        Assert.That(() => new RecurrentGeometry(RecurrentCell.Gru, 0, 5, 4, 6).Validate(), Throws.ArgumentException.With.Message.Contains("gru"));
    }
}
