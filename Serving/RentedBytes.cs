using System.Buffers;

namespace Tensorium.Serving;

/// <summary>A byte buffer rented from <see cref="ArrayPool{T}.Shared"/> for one request; disposing it gives it back.</summary>
public sealed class RentedBytes : IDisposable
{
    private byte[]? _array;

    /// <summary>Rents a buffer of at least <paramref name="length"/> bytes, of which the first <paramref name="length"/> are used.</summary>
    public RentedBytes(int length)
    {
        _array = ArrayPool<byte>.Shared.Rent(length);
        Length = length;
    }

    /// <summary>How many bytes are used.</summary>
    public int Length { get; }

    /// <summary>The rented array (it may be longer than <see cref="Length"/>).</summary>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(RentedBytes), "RentedBytes: the buffer was given back; expected a use before Dispose.");

    /// <summary>The bytes used.</summary>
    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    /// <summary>Gives the buffer back to the pool.</summary>
    public void Dispose()
    {
        if (_array is { } array) ArrayPool<byte>.Shared.Return(array);
        _array = null;
    }
}
