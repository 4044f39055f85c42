namespace Tensorium;

/// <summary>The autograd entry points on a tensor: Backward, ZeroGrad, and numeric comparison.</summary>
public static class TensorAutograd
{
    extension(Tensor t)
    {
        /// <summary>
        /// Back-propagates from this tensor (a scalar, or pass <paramref name="gradient"/>), adding
        /// into the <c>Grad</c> of every leaf that requires a gradient.
        /// </summary>
        public void Backward(Tensor? gradient = null, bool retainGraph = false) => Tape.Backward(t, gradient, retainGraph);

        /// <summary>Drops the accumulated gradient.</summary>
        public void ZeroGrad()
        {
            t.Grad?.Dispose();
            t.Grad = null;
        }

        /// <summary>The tape entry that produced this tensor, or null for a leaf.</summary>
        public TapeEntry? Producer => t.Producer as TapeEntry;

        /// <summary>True when shapes match and |a - b| &lt;= atol + rtol |b| everywhere (NaNs equal when <paramref name="equalNan"/>).</summary>
        public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false)
        {
            if (!t.Layout.Shape.SequenceEqual(other.Layout.Shape)) return false;
            var a = t.ToDoubleArray();
            var b = other.ToDoubleArray();
            for (int i = 0; i < a.Length; i++)
            {
                if (double.IsNaN(a[i]) || double.IsNaN(b[i]))
                {
                    if (!(equalNan && double.IsNaN(a[i]) && double.IsNaN(b[i]))) return false;
                    continue;
                }
                if (a[i] == b[i]) continue;  // equal infinities
                if (!(Math.Abs(a[i] - b[i]) <= atol + rtol * Math.Abs(b[i]))) return false;
            }
            return true;
        }
    }
}
