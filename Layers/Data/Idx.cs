using System.Buffers.Binary;

namespace Tensorium.Data;

/// <summary>
/// Reader for the IDX format of MNIST and Fashion-MNIST. A file is a 4-byte magic
/// (0, 0, element type, number of dimensions), one big-endian int32 per dimension, then the
/// elements in row-major order. Only unsigned bytes (type 0x08) are supported, which covers
/// images (magic 0x00000803, [N, rows, cols]) and labels (0x00000801, [N]). Files may be gzipped.
/// </summary>
public static class Idx
{
    /// <summary>The IDX element type code for unsigned bytes.</summary>
    public const byte UnsignedByte = 0x08;

    /// <summary>
    /// Reads an IDX file of unsigned bytes (raw or gzip): its shape and its elements. Throws an
    /// <see cref="InvalidDataException"/> naming the file for a bad magic, an unsupported element
    /// type or a size that does not match the header.
    /// </summary>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        var bytes = DataFile.ReadAllBytes("Idx", path);
        if (bytes.Length < 4)
            throw new InvalidDataException($"Idx: '{path}' is {bytes.Length} bytes, too short for the 4-byte IDX magic.");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataException($"Idx: '{path}' has magic {Convert.ToHexString(bytes, 0, 4)}, expected 000008xx (00000803 for images, 00000801 for labels); it is not an IDX file.");
        if (bytes[2] != UnsignedByte)
            throw new InvalidDataException($"Idx: '{path}' holds element type 0x{bytes[2]:X2}; only unsigned bytes (0x08, as in MNIST) are supported.");
        int rank = bytes[3];
        if (rank == 0)
            throw new InvalidDataException($"Idx: '{path}' declares 0 dimensions (magic {Convert.ToHexString(bytes, 0, 4)}); expected at least 1.");
        int headerBytes = 4 + 4 * rank;
        if (bytes.Length < headerBytes)
            throw new InvalidDataException($"Idx: '{path}' is truncated: its header needs {headerBytes} bytes for {rank} dimensions, got {bytes.Length}.");
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            // Dimensions are big-endian int32, whatever the machine.
            int size = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (size < 0)
                throw new InvalidDataException($"Idx: '{path}' declares a negative size {size} for dimension {i}.");
            shape[i] = size;
            count *= size;
            if (count > Array.MaxLength)
                throw new InvalidDataException($"Idx: '{path}' declares shape [{string.Join(", ", shape[..(i + 1)])}...], more than {Array.MaxLength} elements.");
        }
        long expected = headerBytes + count;
        if (bytes.Length != expected)
            throw new InvalidDataException(
                $"Idx: '{path}' {(bytes.Length < expected ? "is truncated" : "has trailing bytes")}: shape [{string.Join(", ", shape)}] needs {expected} bytes " +
                $"({headerBytes} header + {count} data), got {bytes.Length}{(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? " after decompression" : "")}.");
        return (shape, bytes[headerBytes..]);
    }

    /// <summary>
    /// An image classification dataset from an IDX image file [N, rows, cols] and an IDX label
    /// file [N] (MNIST layout): images become float32 [N, 1, rows, cols] scaled to [0, 1], labels
    /// int64 [N].
    /// </summary>
    public static TensorDataset LoadImagesAndLabels(string imagesPath, string labelsPath)
    {
        var (imageShape, pixels) = Read(imagesPath);
        if (imageShape.Length != 3)
            throw new InvalidDataException($"Idx: '{imagesPath}' should hold images [N, rows, cols] (magic 00000803), got {imageShape.Length} dimensions [{string.Join(", ", imageShape)}].");
        var (labelShape, labelBytes) = Read(labelsPath);
        if (labelShape.Length != 1)
            throw new InvalidDataException($"Idx: '{labelsPath}' should hold labels [N] (magic 00000801), got {labelShape.Length} dimensions [{string.Join(", ", labelShape)}].");
        if (imageShape[0] != labelShape[0])
            throw new InvalidDataException($"Idx: '{imagesPath}' has {imageShape[0]} images but '{labelsPath}' has {labelShape[0]} labels; they should match.");

        // Convert straight into the tensor's host memory: a float[] staging copy would add
        // 4 bytes per pixel (188 MB for Fashion-MNIST's training set) to the peak footprint.
        var images = Tensor.Create<float, byte[]>([imageShape[0], 1, imageShape[1], imageShape[2]], pixels, static (destination, source) =>
        {
            for (int i = 0; i < source.Length; i++) destination[i] = source[i] / 255f;
        });
        var labels = Array.ConvertAll(labelBytes, b => (long)b);
        return new TensorDataset(images, Tensor.FromArray(labels));
    }
}
