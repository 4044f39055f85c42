namespace Tensorium.Layers;

/// <summary>
/// Shared body of <see cref="InstanceNorm1d"/> and <see cref="InstanceNorm2d"/>
/// (torch.nn.InstanceNorm*): each channel of each sample is normalised over its own positions
/// with the biased variance, then optionally scaled by <c>weight</c> and shifted by <c>bias</c>.
/// PyTorch's defaults are kept: no affine parameters and no running statistics. With
/// <c>trackRunningStats</c> the running mean and variance move, in training, towards the batch
/// average of the instances' means and unbiased variances, and evaluation uses them instead;
/// num_batches_tracked is registered (so state dicts match PyTorch's) but, as there, never counts.
/// </summary>
public abstract class InstanceNorm : Module
{
    private readonly Tensor? _weight, _bias, _runningMean, _runningVar;

    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">Channel count C.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="momentum">Weight of the new batch in the running estimates, in [0, 1].</param>
    /// <param name="affine">Whether to learn weight (init 1) and bias (init 0).</param>
    /// <param name="trackRunningStats">Whether to keep running estimates and use them in evaluation.</param>
    /// <param name="dtype">Floating type of the parameters and buffers.</param>
    protected InstanceNorm(int numFeatures, double eps, double momentum, bool affine, bool trackRunningStats, DType dtype)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{DisplayName}: numFeatures must be positive, got {numFeatures}.");
        if (!(eps >= 0)) throw new ArgumentException($"{DisplayName}: eps must be non-negative, got {eps}.");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"{DisplayName}: momentum must be in [0, 1], got {momentum}.");
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
            RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
        }
    }

    /// <summary>Channel count C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }
    /// <summary>Weight of each new batch in the running estimates.</summary>
    public double Momentum { get; }
    /// <summary>[C] scale, or null without affine.</summary>
    public Tensor? Weight => _weight;
    /// <summary>[C] shift, or null without affine.</summary>
    public Tensor? Bias => _bias;
    /// <summary>[C] running mean, or null when running statistics are not tracked.</summary>
    public Tensor? RunningMean => _runningMean;
    /// <summary>[C] running (unbiased) variance, or null when running statistics are not tracked.</summary>
    public Tensor? RunningVar => _runningVar;

    /// <summary>The rank this layer accepts (3 for 1d, 4 for 2d).</summary>
    protected abstract int InputRank { get; }

    /// <summary>How the accepted input is written in errors, e.g. "[N, C, L]".</summary>
    protected abstract string InputForm { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != InputRank || input.Layout.Shape[1] != NumFeatures)
            throw new ArgumentException($"{DisplayName}: expected input {InputForm} with C = {NumFeatures}, got {Layout.Format(input.Layout.Shape)}.");
        if (!input.DType.IsFloating())
            throw new ArgumentException($"{DisplayName}: expected a floating input, got {input.DType.Name()}.");
        CheckMatchesState(input, _weight ?? _runningMean);
        var positions = Enumerable.Range(2, input.Rank - 2).ToArray();
        int perInstance = positions.Aggregate(1, (a, d) => a * input.Layout.Shape[d]);
        bool useInstanceStats = IsTraining || _runningMean == null;
        if (useInstanceStats && perInstance <= 1)
            throw new ArgumentException($"{DisplayName}: expected more than 1 position per channel, got input {Layout.Format(input.Layout.Shape)}.");

        Tensor mean, variance;
        if (useInstanceStats)
        {
            mean = input.Mean(positions, keepDim: true);
            variance = input.Var(positions, keepDim: true, correction: 0);
            if (IsTraining && _runningMean != null) UpdateRunningStats(mean, variance, perInstance);
        }
        else
        {
            var channelShape = Enumerable.Range(0, input.Rank).Select(d => d == 1 ? NumFeatures : 1).ToArray();
            mean = _runningMean!.Reshape(channelShape);
            variance = _runningVar!.Reshape(channelShape);
        }
        using (mean)
        using (variance)
        using (var centered = input - mean)
        using (var shifted = variance + Eps)
        using (var inverseStd = shifted.Rsqrt())
            return ChannelAffine.Apply(centered * inverseStd, _weight, _bias);
    }

    /// <summary>running = (1 - m) running + m · (batch average of the instances' statistics), variance unbiased, as PyTorch.</summary>
    private void UpdateRunningStats(Tensor mean, Tensor biasedVariance, int n)
    {
        using var _ = Tape.NoGrad();
        using var batchMean = mean.Mean([0], keepDim: false);
        using var flatMean = batchMean.Reshape(NumFeatures);
        using var unbiased = biasedVariance * ((double)n / (n - 1));
        using var batchVar = unbiased.Mean([0], keepDim: false);
        using var flatVar = batchVar.Reshape(NumFeatures);
        Blend(_runningMean!, flatMean, Momentum);
        Blend(_runningVar!, flatVar, Momentum);
    }

    private static void Blend(Tensor running, Tensor batch, double m)
    {
        using var kept = running * (1 - m);
        using var added = batch * m;
        using var next = kept + added;
        running.CopyFrom(next);
    }
}
