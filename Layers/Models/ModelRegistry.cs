using System.Collections.Concurrent;
using Tensorium.Layers;

namespace Tensorium.Models;

/// <summary>
/// Maps architecture names (a card's <see cref="ModelCard.Architecture"/>) to the code that
/// builds the module from the card's hyperparameters. <see cref="Default"/> knows the examples'
/// architectures (<see cref="Architectures"/>); register your own before loading their cards:
/// <code>ModelRegistry.Default.Register("my-net", card => new MyNet(card.Int("width")));</code>
/// Safe to use from several threads.
/// </summary>
public sealed class ModelRegistry
{
    private readonly ConcurrentDictionary<string, Func<ModelCard, Module>> _builders = new(StringComparer.Ordinal);

    /// <summary>The process-wide registry, with the examples' architectures registered.</summary>
    public static ModelRegistry Default { get; } = WithBuiltIns();

    /// <summary>A new registry with the examples' architectures registered (<see cref="Architectures.RegisterAll"/>).</summary>
    public static ModelRegistry WithBuiltIns()
    {
        var registry = new ModelRegistry();
        Architectures.RegisterAll(registry);
        return registry;
    }

    /// <summary>The registered architecture names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _builders.Keys.Order(StringComparer.Ordinal)];

    /// <summary>True when <paramref name="architecture"/> is registered.</summary>
    public bool Contains(string architecture) => _builders.ContainsKey(architecture);

    /// <summary>
    /// Registers <paramref name="builder"/> for <paramref name="architecture"/>. The builder makes
    /// a fresh module (its initial weights do not matter: the checkpoint replaces them) and throws
    /// when the card's hyperparameters do not fit.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or already registered.</exception>
    public void Register(string architecture, Func<ModelCard, Module> builder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        ArgumentNullException.ThrowIfNull(builder);
        if (!_builders.TryAdd(architecture, builder))
            throw new ArgumentException($"ModelRegistry.Register: architecture '{architecture}' is already registered.", nameof(architecture));
    }

    /// <summary>A fresh module of the card's architecture, with initial (untrained) weights.</summary>
    /// <exception cref="InvalidDataException">The architecture is not registered, or the builder rejected the card's hyperparameters.</exception>
    public Module Build(ModelCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (!_builders.TryGetValue(card.Architecture, out var builder))
            throw new InvalidDataException($"model card '{card.Name}': architecture '{card.Architecture}' is not registered (registered: {string.Join(", ", Names)}).");
        try
        {
            return builder(card);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"model card '{card.Name}': architecture '{card.Architecture}' rejected its hyperparameters {card.Hyperparameters.ToJsonString()}: {e.Message}", e);
        }
    }
}
