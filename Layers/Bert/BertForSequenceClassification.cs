using Tensorium.Layers;

namespace Tensorium.Bert;

/// <summary>
/// BERT with a classification head (Hugging Face's BertForSequenceClassification): the encoder
/// with its pooler under <c>bert.</c>, dropout on the pooled [CLS] vector, and
/// <c>classifier</c>, a Linear to <see cref="NumLabels"/> logits. [B, L] ids to [B, labels].
/// Fine-tuning loads a pretrained encoder into <see cref="Bert"/> (<see cref="BertCheckpoint"/>)
/// and trains everything with a fresh classifier.
/// </summary>
public sealed class BertForSequenceClassification : Module
{
    private readonly BertModel _bert;
    private readonly Dropout _dropout;
    private readonly Linear _classifier;

    /// <summary>Builds the model for <paramref name="config"/> and <paramref name="numLabels"/> classes.</summary>
    public BertForSequenceClassification(BertConfig config, int numLabels, Generator? generator = null)
    {
        if (numLabels <= 0) throw new ArgumentException($"BertForSequenceClassification: numLabels must be positive, got {numLabels}.");
        NumLabels = numLabels;
        _bert = RegisterModule("bert", new BertModel(config, addPoolingLayer: true, generator));
        _dropout = RegisterModule("dropout", new Dropout(config.HiddenDropoutProb, generator));
        _classifier = RegisterModule("classifier", BertInit.Linear(config.HiddenSize, numLabels, generator));
    }

    /// <summary>The number of classes.</summary>
    public int NumLabels { get; }
    /// <summary>The encoder.</summary>
    public BertModel Bert => _bert;
    /// <summary>The sizes this model was built with.</summary>
    public BertConfig Config => _bert.Config;

    /// <summary>Class logits [B, labels] of ids [B, L] in segment 0, [PAD] masked out (see <see cref="BertModel.Forward(Tensor)"/>).</summary>
    public override Tensor Forward(Tensor input)
    {
        using var notPadding = _bert.PaddingAttentionMask(input);
        return Forward(input, null, notPadding);
    }

    /// <summary>Class logits [B, labels]; the arguments are <see cref="BertModel.Forward(Tensor, Tensor?, Tensor?)"/>'s.</summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds, Tensor? attentionMask)
    {
        using var hidden = _bert.Forward(inputIds, tokenTypeIds, attentionMask);
        using var pooled = _bert.Pool(hidden);
        using var dropped = _dropout.Forward(pooled);
        return _classifier.Forward(dropped);
    }
}
