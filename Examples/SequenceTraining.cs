using Tensorium;
using Tensorium.Layers;
using Tensorium.Optim;

/// <summary>
/// What the two hand-written training loops (transformer, seq2seq) share: a learning rate that
/// warms up linearly and then decays on a cosine, and a step that clips the gradient norm to 1.
/// </summary>
static class SequenceTraining
{
    /// <summary>
    /// Linear warm-up from a tenth of <paramref name="peak"/> over the first tenth of the steps
    /// (at most 100), then cosine decay to <paramref name="floor"/> over the rest.
    /// </summary>
    public static LearningRateSchedule WarmupCosine(Optimizer optimizer, double peak, double floor, int totalSteps)
    {
        int warmup = Math.Min(100, totalSteps / 10);
        return new LinearWarmup(optimizer, warmup, then: new CosineAnnealing(peak, Math.Max(1, totalSteps - warmup), etaMin: floor), startFactor: 0.1);
    }

    /// <summary>
    /// One optimizer step on <paramref name="loss"/>: zero the gradients, back-propagate, clip the
    /// global gradient norm to 1, step the optimizer and then its schedule. Returns the loss.
    /// </summary>
    public static double Step(Tensor loss, Module model, Optimizer optimizer, LearningRateSchedule schedule)
    {
        optimizer.ZeroGrad();
        loss.Backward();
        GradClip.ClipGradNorm(model.Parameters(), 1.0);
        optimizer.Step();
        schedule.Step();
        return loss.Item();
    }
}
