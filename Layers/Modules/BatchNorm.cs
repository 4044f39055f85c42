namespace Tensorium.Layers;

/// <summary>
/// Shared body of <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> (torch.nn.BatchNorm*):
/// each channel (dimension 1) is normalised over every other dimension, then scaled by
/// <c>weight</c> and shifted by <c>bias</c>.
/// In training mode the batch's own mean and (biased) variance normalise the input, and the
/// running estimates move towards the batch's mean and unbiased variance by
/// <see cref="Momentum"/>; in evaluation mode the running estimates are used instead.
/// Everything is composed from differentiable ops (Mean, Var, broadcasting), so the gradient
/// flows through the batch statistics exactly as in PyTorch.
/// </summary>
public abstract class BatchNorm : Module
{
    private Tensor? _weight, _bias, _runningMean, _runningVar, _batchesTracked;

    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">Channel count C.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="momentum">Weight of the new batch in the running estimates; null gives a cumulative average (PyTorch's momentum=None).</param>
    /// <param name="affine">Whether to learn weight (init 1) and bias (init 0).</param>
    /// <param name="trackRunningStats">Whether to keep running estimates; without them batch statistics are used in both modes.</param>
    /// <param name="dtype">Floating type of the parameters and buffers.</param>
    protected BatchNorm(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, DType dtype)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{DisplayName}: numFeatures must be positive, got {numFeatures}.");
        if (!(eps >= 0)) throw new ArgumentException($"{DisplayName}: eps must be non-negative, got {eps}.");
        if (momentum is { } m && !(m >= 0 && m <= 1)) throw new ArgumentException($"{DisplayName}: momentum must be in [0, 1] or null, got {m}.");
        if (!dtype.IsFloating()) throw new ArgumentException($"{DisplayName}: expected a floating dtype, got {dtype.Name()}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            _weight = RegisterParameter("weight", Tensor.Ones([numFeatures], dtype));
            _bias = RegisterParameter("bias", Tensor.Zeros([numFeatures], dtype));
        }
        if (trackRunningStats)
        {
            _runningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
            _runningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
            _batchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
        }
    }

    /// <summary>Channel count C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }
    /// <summary>Weight of each new batch in the running estimates (null: cumulative average).</summary>
    public double? Momentum { get; }
    /// <summary>[C] scale, or null without affine.</summary>
    public Tensor? Weight => _weight;
    /// <summary>[C] shift, or null without affine.</summary>
    public Tensor? Bias => _bias;
    /// <summary>[C] running mean, or null when running statistics are not tracked.</summary>
    public Tensor? RunningMean => _runningMean;
    /// <summary>[C] running (unbiased) variance, or null when running statistics are not tracked.</summary>
    public Tensor? RunningVar => _runningVar;
    /// <summary>Number of training batches seen (an int64 scalar), or null when not tracked.</summary>
    public Tensor? NumBatchesTracked => _batchesTracked;

    /// <summary>Throws unless <paramref name="input"/> has a rank this layer accepts.</summary>
    protected abstract void CheckRank(Tensor input);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        CheckRank(input);
        if (input.Layout.Shape[1] != NumFeatures)
            throw new ArgumentException($"{DisplayName}: expected {NumFeatures} channels in dimension 1, got input {Layout.Format(input.Layout.Shape)}.");
        if (!input.DType.IsFloating())
            throw new ArgumentException($"{DisplayName}: expected a floating input, got {input.DType.Name()}.");
        // Checked here, not left to the arithmetic: in training the running statistics (and
        // num_batches_tracked) are updated before the output is computed, so an input the
        // parameters cannot be combined with must be refused before anything changes.
        CheckMatchesState(input, _weight ?? _runningMean);

        // Every dimension except the channel one is reduced; per-channel tensors are viewed as
        // [1, C, 1, ...] so they broadcast against the input.
        var axes = Enumerable.Range(0, input.Rank).Where(d => d != 1).ToArray();
        var channelShape = Enumerable.Range(0, input.Rank).Select(d => d == 1 ? NumFeatures : 1).ToArray();
        int perChannel = input.Count / NumFeatures;

        Tensor mean, variance;
        if (IsTraining || _runningMean == null)
        {
            // Batch statistics of one value per channel have no variance: refused whenever they
            // are used, in evaluation without running stats too, as PyTorch does.
            if (perChannel <= 1)
                throw new ArgumentException($"{DisplayName}: expected more than 1 value per channel when using batch statistics (training, or no running stats), got input {Layout.Format(input.Layout.Shape)}.");
            mean = input.Mean(axes, keepDim: true);
            variance = input.Var(axes, keepDim: true, correction: 0);   // biased: what normalises the batch
            if (IsTraining && _runningMean != null) UpdateRunningStats(mean, variance, perChannel);
        }
        else
        {
            mean = _runningMean.Reshape(channelShape);
            variance = _runningVar!.Reshape(channelShape);
        }

        using (mean)
        using (variance)
        using (var centered = input - mean)
        using (var shifted = variance + Eps)
        using (var inverseStd = shifted.Rsqrt())
        {
            if (_weight == null) return centered * inverseStd;
            using var normalized = centered * inverseStd;
            using var scale = _weight.Reshape(channelShape);
            using var shift = _bias!.Reshape(channelShape);
            using var scaled = normalized * scale;
            return scaled + shift;
        }
    }

    /// <summary>running = (1 - m) running + m batch, with the unbiased variance (PyTorch does the same).</summary>
    private void UpdateRunningStats(Tensor mean, Tensor biasedVariance, int n)
    {
        using (Tape.NoGrad())
        {
            using (var next = _batchesTracked! + 1) _batchesTracked!.CopyFrom(next);
            // momentum=None: a cumulative average, so the factor is 1 / (batches seen). Reading the
            // counter back is a host sync, paid only in this rarely used mode.
            double m = Momentum ?? 1.0 / _batchesTracked!.Item();
            using var flatMean = mean.Reshape(NumFeatures);
            using var unbiased = biasedVariance * ((double)n / (n - 1));
            using var flatVar = unbiased.Reshape(NumFeatures);
            Blend(_runningMean!, flatMean, m);
            Blend(_runningVar!, flatVar, m);
        }
    }

    private static void Blend(Tensor running, Tensor batch, double m)
    {
        using var kept = running * (1 - m);
        using var added = batch * m;
        using var next = kept + added;
        running.CopyFrom(next);
    }
}
