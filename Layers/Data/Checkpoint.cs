using Tensorium.Layers;

namespace Tensorium.Data;

/// <summary>
/// Saves and restores a model (and optionally its optimizer's state) as one safetensors file.
/// The model's state dict goes under its plain names ("0.weight", "2.bias"), exactly as
/// PyTorch's <c>model.state_dict()</c> would name them, so the file loads with
/// <c>model.load_state_dict(safetensors.torch.load_file(path), strict=False)</c>; optimizer
/// tensors go under "optimizer." + their names.
/// </summary>
public static class Checkpoint
{
    /// <summary>The name prefix of optimizer state in a checkpoint.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>
    /// Writes <paramref name="model"/>'s parameters and buffers, the optional
    /// <paramref name="optimizerState"/> (e.g. an optimizer's StateDict(); not disposed here) and
    /// optional string <paramref name="metadata"/> to <paramref name="path"/>, atomically.
    /// Floating tensors are stored as <paramref name="floatsAs"/> when given (e.g.
    /// <see cref="SafeTensorsDType.BF16"/> to publish weights at half the size), else as they are.
    /// <paramref name="floatsAs"/> with <paramref name="optimizerState"/> is refused: rounding an
    /// optimizer's state and hyperparameters (Adam's eps = 1e-8 is 0 in F16) would resume training
    /// wrongly, so a checkpoint to resume from keeps full precision.
    /// </summary>
    public static void Save(string path, Module model, IReadOnlyDictionary<string, Tensor>? optimizerState = null, IReadOnlyDictionary<string, string>? metadata = null, SafeTensorsDType? floatsAs = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (floatsAs != null && optimizerState != null)
            throw new ArgumentException($"Checkpoint.Save '{path}': got floatsAs {floatsAs} and an optimizer state; expected one or the other " +
                "(narrowed floats are for publishing weights; a checkpoint to resume training from keeps the optimizer's state at full precision). Nothing was written.",
                nameof(floatsAs));
        var state = model.StateDict();   // views of the weights: ours to dispose
        try
        {
            var all = new Dictionary<string, Tensor>(state);
            if (all.Keys.FirstOrDefault(k => k.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) is { } clash)
                throw new ArgumentException($"Checkpoint.Save '{path}': model tensor '{clash}' starts with the reserved prefix '{OptimizerPrefix}'; nothing was written.");
            if (optimizerState != null)
                foreach (var (name, tensor) in optimizerState) all[OptimizerPrefix + name] = tensor;
            var meta = new Dictionary<string, string> { ["format"] = "pt" };   // what save_file writes for PyTorch; tools check it
            if (metadata != null)
                foreach (var (key, value) in metadata) meta[key] = value;
            SafeTensors.Save(path, all, meta, floatsAs);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Loads the model part of the checkpoint at <paramref name="path"/> into
    /// <paramref name="model"/>. The file is fully validated and every name, shape and dtype
    /// checked before anything is written, so a corrupt or mismatched file leaves the model
    /// unchanged. With <paramref name="strict"/> the names must match the model's exactly;
    /// without it, missing and unexpected names are allowed and returned (transfer learning).
    /// Optimizer entries are never "unexpected": read them with <see cref="LoadOptimizerState"/>.
    /// F16 and BF16 tensors (most published checkpoints) load as the model's floating type.
    /// </summary>
    public static (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) LoadInto(string path, Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var halfAs = model.Parameters().Select(p => p.DType).FirstOrDefault(d => d.IsFloating(), DType.Float32);
        var tensors = SafeTensors.Load(path, halfAs);
        try
        {
            var modelState = tensors.Where(kv => !kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            try
            {
                return model.LoadStateDict(modelState, strict);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"Checkpoint.LoadInto '{path}': {e.Message}", e);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// The optimizer state saved in the checkpoint at <paramref name="path"/>, with the
    /// "optimizer." prefix removed (empty when none was saved). The caller disposes the tensors,
    /// typically after handing them to the optimizer's LoadStateDict.
    /// </summary>
    public static Dictionary<string, Tensor> LoadOptimizerState(string path)
    {
        var tensors = SafeTensors.Load(path);
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in tensors)
        {
            if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) result[name[OptimizerPrefix.Length..]] = tensor;
            else tensor.Dispose();
        }
        return result;
    }
}
