namespace Tensorium.Layers;

/// <summary>
/// The four tensors of one recurrent layer, in PyTorch's layout: weight_ih [G·H, in],
/// weight_hh [G·H, H], bias_ih and bias_hh [G·H] (null for a layer without bias), with G = 1
/// (tanh RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n).
/// </summary>
/// <param name="WeightIh">Input-to-hidden weights (weight_ih_l{k}).</param>
/// <param name="WeightHh">Hidden-to-hidden weights (weight_hh_l{k}).</param>
/// <param name="BiasIh">Input-side bias (bias_ih_l{k}), or null.</param>
/// <param name="BiasHh">Hidden-side bias (bias_hh_l{k}), or null.</param>
public sealed record RecurrentWeights(Tensor WeightIh, Tensor WeightHh, Tensor? BiasIh, Tensor? BiasHh);
