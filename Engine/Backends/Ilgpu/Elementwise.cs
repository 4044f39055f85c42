using Tensorium.Kernels.Ops;

namespace Tensorium;

/// <summary>Elementwise ops: random fills, unary, binary with broadcasting, where. Placeholder: the family's ILGPU kernels replace this file.</summary>
internal static class GpuElementwise
{
    public static void Random(IlgpuBackend backend, Tensor dst, RandomKind kind, ulong seed, ulong offset, double a, double b) =>
        throw new NotSupportedException("random: not on ILGPU yet");

    public static void Unary(IlgpuBackend backend, UnaryOp op, Tensor x, Tensor y, double p0, double p1) =>
        throw new NotSupportedException("unary: not on ILGPU yet");

    public static void Binary(IlgpuBackend backend, BinaryOp op, Tensor a, Tensor b, Tensor y) =>
        throw new NotSupportedException("binary: not on ILGPU yet");

    public static void Where(IlgpuBackend backend, Tensor cond, Tensor a, Tensor b, Tensor y) =>
        throw new NotSupportedException("where: not on ILGPU yet");
}
