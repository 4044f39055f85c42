using Tensorium.Layers;
using Tensorium.Optim;

namespace Tensorium.Tests.Layers;

/// <summary>
/// Thousands of training steps of a small model must not grow memory: live buffers stay what
/// they were once the loop is warm, and the pool stays within its cap (issue 13, "Also").
/// Reads the CPU pool's global counters, so it never runs in parallel with other tests.
/// </summary>
[NonParallelizable]
public class LongRunTests
{
    private static BufferPool Pool => Device.Cpu.Pool;

    [Test]
    public void ThousandsOfStepsKeepMemoryBounded()
    {
        Reference.SettledLiveBuffers();
        Pool.ResetPeak();
        var g = new Generator(13);
        // Linear layers, a norm, dropout (random masks every step) and SGD with momentum (state
        // buffers): the usual allocations of a training step.
        using var model = new Sequential(new Linear(8, 32, generator: g), new LayerNorm(32), new Tanh(),
            new Dropout(0.1, g), new Linear(32, 4, generator: g));
        using var optimizer = new Sgd(model.Parameters(), learningRate: 0.05, momentum: 0.9);
        using var x = Tensor.Normal([32, 8], generator: g);
        using var target = Tensor.Uniform([32, 4], -0.5, 0.5, g);

        const int steps = 3000;
        long liveBuffers = 0, liveBytes = 0, pooled = 0;
        double firstLoss = 0, lastLoss = 0;
        for (int step = 1; step <= steps; step++)
        {
            using (new TensorScope())
            {
                optimizer.ZeroGrad();
                var loss = model.Forward(x).MseLoss(target);
                loss.Backward();
                optimizer.Step();
                lastLoss = loss.Item();
                if (step == 1) firstLoss = lastLoss;
            }
            if (step == 100) (liveBuffers, liveBytes, pooled) = (Pool.LiveBuffers, Pool.LiveBytes, Pool.PooledBytes);
        }
        Assert.Multiple(() =>
        {
            Assert.That(Pool.LiveBuffers, Is.EqualTo(liveBuffers), $"live buffers after step {steps} vs step 100");
            Assert.That(Pool.LiveBytes, Is.EqualTo(liveBytes), $"live bytes after step {steps} vs step 100");
            Assert.That(Pool.PooledBytes, Is.LessThanOrEqualTo(pooled), $"pooled bytes after step {steps} vs step 100");
            Assert.That(Pool.PooledBytes, Is.LessThanOrEqualTo(Pool.PooledLimit), "pooled bytes within the pool's cap");
            Assert.That(lastLoss, Is.LessThan(firstLoss), "the loop actually trains");
        });
    }
}
