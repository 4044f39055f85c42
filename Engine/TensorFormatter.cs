using System.Globalization;
using System.Text;

namespace Tensorium;

/// <summary>
/// Prints tensors the way PyTorch does: nested brackets, aligned columns, and "..." in place of
/// the middle of any dimension longer than six when the tensor has more than 1000 elements.
/// </summary>
internal static class TensorFormatter
{
    private const int Threshold = 1000, EdgeItems = 3;

    public static string Format(Tensor t)
    {
        var values = t.ToDoubleArray();
        var shape = t.Layout.Shape;
        bool summarize = values.Length > Threshold;
        bool isFloat = t.DType.IsFloating();
        var finite = values.Where(double.IsFinite).Select(Math.Abs).ToArray();
        bool wholeNumbers = finite.All(v => v == Math.Floor(v));
        // Like PyTorch: one format for the whole tensor, scientific when magnitudes are far apart.
        double largest = finite.DefaultIfEmpty(0).Max(), smallest = finite.Where(v => v > 0).DefaultIfEmpty(1).Min();
        bool scientific = !wholeNumbers && (largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1000);
        string Cell(double v) =>
            double.IsNaN(v) ? "nan" : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf") :
            !isFloat ? ((long)v).ToString(CultureInfo.InvariantCulture) :
            wholeNumbers ? v.ToString("0", CultureInfo.InvariantCulture) + "." :
            scientific ? v.ToString("0.0000e+00", CultureInfo.InvariantCulture) :
            v.ToString("0.0000", CultureInfo.InvariantCulture);
        int width = values.Length == 0 ? 1 : values.Max(v => Cell(v).Length);

        var sb = new StringBuilder("tensor(");
        var strides = Layout.ContiguousStrides(shape);
        void Write(int dim, int offset, int indent)
        {
            if (dim == shape.Length) { sb.Append(Cell(values[offset]).PadLeft(width)); return; }
            sb.Append('[');
            int n = shape[dim];
            bool cut = summarize && n > 2 * EdgeItems;
            for (int i = 0; i < n; i++)
            {
                if (cut && i == EdgeItems)
                {
                    sb.Append(dim == shape.Length - 1 ? "..., " : "...,\n" + new string(' ', indent + 1));
                    i = n - EdgeItems;
                }
                Write(dim + 1, offset + i * strides[dim], indent + 1);
                if (i < n - 1)
                    sb.Append(dim == shape.Length - 1 ? ", " : "," + new string('\n', shape.Length - dim - 1) + new string(' ', indent + 1));
            }
            sb.Append(']');
        }
        Write(0, 0, "tensor(".Length);
        sb.Append($", shape={Layout.Format(shape)}, dtype={t.DType.Name()}");
        if (t.Device.Kind != DeviceKind.Cpu) sb.Append($", device={t.Device}");
        if (t.RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }
}
