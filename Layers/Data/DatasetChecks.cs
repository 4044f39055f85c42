namespace Tensorium.Data;

/// <summary>Argument checks shared by the datasets, so every one reports a bad index the same way.</summary>
internal static class DatasetChecks
{
    /// <summary>Throws naming <paramref name="who"/> when an index is outside 0..count-1.</summary>
    public static void Indices(string who, ReadOnlySpan<int> indices, int count)
    {
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{who}: index {indices[i]} (position {i} of the batch) is out of range for a dataset of {count} examples.");
    }
}
