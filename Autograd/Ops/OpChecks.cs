namespace Tensorium;

/// <summary>Argument checks and shape rules shared by the ops; every message names the op.</summary>
internal static class OpChecks
{
    // These checks read Device/DType through StorageFor(op), so that a tensor used after Dispose
    // raises an ObjectDisposedException naming the op ("add: ...") instead of "device: ...".

    public static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.StorageFor(op).Device != b.StorageFor(op).Device)
            throw new ArgumentException($"{op}: tensors are on different devices ({a.Device} and {b.Device}); move one with To(device).");
    }

    public static void SameDType(string op, Tensor a, Tensor b)
    {
        if (a.StorageFor(op).DType != b.StorageFor(op).DType)
            throw new ArgumentException($"{op}: dtypes differ ({a.DType.Name()} and {b.DType.Name()}); convert one with To(dtype).");
    }

    public static void Floating(string op, Tensor t)
    {
        if (!t.StorageFor(op).DType.IsFloating())
            throw new ArgumentException($"{op}: expected a float32 or float64 tensor, got {t.DType.Name()}.");
    }

    public static void Rank(string op, Tensor t, int rank, string what)
    {
        if (t.Rank != rank)
            throw new ArgumentException($"{op}: expected {what} of rank {rank}, got shape {Layout.Format(t.Layout.Shape)}.");
    }

    /// <summary>
    /// Throws for the first index outside [0, <paramref name="size"/>). <paramref name="index"/> is a
    /// contiguous int64 tensor; the backends' indexing kernels rely on this check and do not repeat it.
    /// </summary>
    public static void IndicesInRange(string op, Tensor index, int size)
    {
        // ArgumentOutOfRangeException: a bad index is the caller's argument, not an array access
        // gone wrong inside the library (IndexOutOfRangeException). No parameter name, so the
        // message stays the op's own sentence.
        foreach (long i in HostValues(op, index))
            if ((ulong)i >= (ulong)size)
                throw new ArgumentOutOfRangeException(null,
                    $"{op}: index {i} is out of range for a dimension of size {size}; expected indices in [0, {size - 1}].");
    }

    /// <summary>
    /// Throws when an integer <paramref name="divisor"/> holds a zero, before any kernel runs (C#
    /// integer division would throw a bare DivideByZeroException from inside the CPU kernel, after
    /// the result was allocated). Float divisors are not checked: x / 0 is inf or NaN, as in IEEE.
    /// </summary>
    public static void NonZeroDivisor(string op, Tensor divisor)
    {
        var storage = divisor.StorageFor(op);
        if (storage.DType.IsFloating()) return;
        // ToDoubleArray reads any layout on any device; a non-zero int32/int64 never converts to 0.
        if (Array.IndexOf(divisor.ToDoubleArray(), 0.0) >= 0)
            throw new DivideByZeroException(
                $"{op}: integer division by zero: the {storage.DType.Name()} divisor of shape {Layout.Format(divisor.Layout.Shape)} holds a 0; " +
                "expected non-zero divisors (float tensors give inf instead).");
    }

    /// <summary>
    /// Throws for the first class label that is neither in [0, <paramref name="classes"/>) nor
    /// <paramref name="ignoreIndex"/>. <paramref name="labels"/> is a contiguous int64 tensor.
    /// Returns how many labels are not the ignore index: the check reads every label anyway, so a
    /// mean over the labels that count needs no tensor ops of its own to count them.
    /// </summary>
    public static int LabelsInRange(string op, Tensor labels, int classes, int ignoreIndex)
    {
        int kept = 0;
        foreach (long label in HostValues(op, labels))
        {
            if (label == ignoreIndex) continue;
            if ((ulong)label >= (ulong)classes)
                throw new ArgumentException(
                    $"{op}: label {label} is out of range for {classes} classes; expected labels in [0, {classes - 1}] or the ignore index {ignoreIndex}.");
            kept++;
        }
        return kept;
    }

    /// <summary>
    /// The values of a contiguous int64 tensor as the host sees them: CPU memory read in place, other
    /// devices' memory downloaded (a range check has to look at every index once, wherever it lives).
    /// </summary>
    private static unsafe ReadOnlySpan<long> HostValues(string op, Tensor t)
    {
        var storage = t.StorageFor(op);
        return storage.Device.Kind == DeviceKind.Cpu
            ? new ReadOnlySpan<long>((long*)storage.Handle + t.Layout.Offset, t.Count)
            : t.ToArray<long>();
    }

    /// <summary>NumPy broadcasting: align from the right; sizes must match or be 1.</summary>
    public static int[] BroadcastShapes(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Layout.Format(a)} and {Layout.Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            result[i] = da == 1 ? db : da;
        }
        Layout.ElementCount(result, op);
        return result;
    }

    /// <summary>Normalised, distinct axes; all axes when <paramref name="axes"/> is null or empty.</summary>
    public static int[] Axes(string op, int[]? axes, int rank)
    {
        if (axes == null || axes.Length == 0) return Enumerable.Range(0, rank).ToArray();
        if (rank == 0)
        {
            // A scalar has no dimension to index: like torch, axis 0 or -1 means the scalar itself.
            // (Returning [0] made reductions index Shape[0] and crash with IndexOutOfRangeException.)
            foreach (var a in axes)
                if (a is not (0 or -1)) Tensor.NormalizeDim(a, rank, op);   // throws, naming the op
            return [];
        }
        var result = axes.Select(a => Tensor.NormalizeDim(a, rank, op)).ToArray();
        if (result.Distinct().Count() != result.Length)
            throw new ArgumentException($"{op}: axes [{string.Join(", ", axes)}] repeat a dimension.");
        return result.Order().ToArray();
    }
}
