using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// The examples' architectures, built from their hyperparameters. The examples train these very
/// modules and <see cref="ModelRegistry.Default"/> rebuilds them from a card, so the parameter
/// names in a checkpoint always match. Each builder takes an optional generator for the initial
/// weights (loading a checkpoint overwrites them).
/// </summary>
public static class Architectures
{
    /// <summary>Registered name of <see cref="Mlp"/>; hyperparameters inputs, hidden, classes.</summary>
    public const string MlpName = "mlp";

    /// <summary>Registered name of <see cref="Cnn"/>; hyperparameters in_channels, image_size, classes.</summary>
    public const string CnnName = "cnn";

    /// <summary>Registered name of <see cref="LstmClassifier"/>; hyperparameters features, hidden, layers, classes.</summary>
    public const string LstmClassifierName = "lstm-classifier";

    /// <summary>Registered name of <see cref="CharTransformer"/>; hyperparameters context, d_model, heads, layers, feed_forward (the vocabulary is the card's).</summary>
    public const string CharTransformerName = "char-transformer";

    /// <summary>Registered name of <see cref="Seq2SeqTransformer"/>; hyperparameters vocabulary, length, d_model, heads, encoder_layers, decoder_layers, feed_forward.</summary>
    public const string Seq2SeqTransformerName = "seq2seq-transformer";

    /// <summary>Flatten, Linear(inputs, hidden), ReLU, Linear(hidden, classes).</summary>
    public static Sequential Mlp(int inputs, int hidden, int classes, Generator? generator = null) =>
        new(new Flatten(), new Linear(inputs, hidden, generator: generator), new ReLU(), new Linear(hidden, classes, generator: generator));

    /// <summary>
    /// The Keras tutorial CNN: Conv2d(32, 3x3), ReLU, MaxPool(2), Conv2d(64, 3x3), ReLU,
    /// MaxPool(2), Conv2d(64, 3x3), ReLU, Flatten, Linear(.., 64), ReLU, Linear(64, classes),
    /// for square images of <paramref name="imageSize"/> pixels.
    /// </summary>
    public static Sequential Cnn(int inChannels = 1, int imageSize = 28, int classes = 10, Generator? generator = null)
    {
        int afterConvs = ((imageSize - 2) / 2 - 2) / 2 - 2;   // 28 -> 26 -> 13 -> 11 -> 5 -> 3
        if (afterConvs < 1)
            throw new ArgumentException($"Architectures.Cnn: image size {imageSize} is too small; expected at least 14 pixels (three 3x3 convolutions and two 2x2 poolings).");
        return new Sequential(
            new Conv2d(inChannels, 32, 3, generator: generator), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, generator: generator), new ReLU(), new MaxPool2d(2),
            new Conv2d(64, 64, 3, generator: generator), new ReLU(),
            new Flatten(),
            new Linear(64 * afterConvs * afterConvs, 64, generator: generator), new ReLU(),
            new Linear(64, classes, generator: generator));
    }

    /// <summary>
    /// Images read row by row (<see cref="RowsAsSequence"/>) by <paramref name="layers"/> stacked
    /// LSTMs; the top layer's last hidden state goes to Linear(hidden, classes).
    /// </summary>
    public static Sequential LstmClassifier(int features, int hidden, int layers, int classes, Generator? generator = null) =>
        new(new RowsAsSequence(),
            new Lstm(features, hidden, numLayers: layers, returnSequences: false, generator: generator),
            new Linear(hidden, classes, generator: generator));

    /// <summary>Adds every architecture above to <paramref name="registry"/>, reading its hyperparameters from the card.</summary>
    public static void RegisterAll(ModelRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Register(MlpName, card => Mlp(card.Int("inputs"), card.Int("hidden"), card.Int("classes")));
        registry.Register(CnnName, card => Cnn(card.Int("in_channels"), card.Int("image_size"), card.Int("classes")));
        registry.Register(LstmClassifierName, card => LstmClassifier(card.Int("features"), card.Int("hidden"), card.Int("layers"), card.Int("classes")));
        registry.Register(CharTransformerName, card => new CharTransformer(card.Vocabulary?.Length ?? card.Int("vocabulary"),
            card.Int("context"), card.Int("d_model"), card.Int("heads"), card.Int("layers"), card.Int("feed_forward")));
        registry.Register(Seq2SeqTransformerName, card => new Seq2SeqTransformer(card.Int("vocabulary"), card.Int("length"), card.Int("d_model"),
            card.Int("heads"), card.Int("encoder_layers"), card.Int("decoder_layers"), card.Int("feed_forward")));
    }
}
