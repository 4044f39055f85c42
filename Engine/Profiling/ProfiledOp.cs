namespace Tensorium.Profiling;

/// <summary>Whether an op ran in a model's forward computation (or outside autograd), or in the tape's backward pass.</summary>
public enum ProfilePhase
{
    /// <summary>Anything outside <c>Backward()</c>: forward ops, losses, optimizer updates, data movement.</summary>
    Forward,
    /// <summary>Inside <c>Backward()</c>: the ops that gradient functions run.</summary>
    Backward,
}

/// <summary>One backend op a <see cref="Profiler"/> saw.</summary>
/// <param name="Name">The backend op, e.g. "MatMul", "Unary.Exp", "Binary.Add", "Conv2dBackwardWeight", "OptimizerStep.Adam".</param>
/// <param name="Phase">Forward or backward (inside the tape's backward pass).</param>
/// <param name="Shapes">The input tensors' shapes, e.g. "[64, 128] x [128, 10]" (the destination's for ops without inputs, like Fill).</param>
/// <param name="DType">The first input's element type (the destination's for ops without inputs).</param>
/// <param name="Device">Where it ran.</param>
/// <param name="Start">When it started, from the session's start.</param>
/// <param name="Duration">How long it took (on a GPU: between synchronisations, so device time).</param>
/// <param name="Flops">Floating-point operations it does (a multiply-add is two), 0 where none is defined (copies, gathers).</param>
/// <param name="Bytes">Bytes of its input and output tensors: what it must at least read and write.</param>
/// <param name="ThreadId">The calling thread's track in the trace: a number the profiler gives each thread on its first op, never reused in the process (unlike managed thread ids).</param>
public sealed record ProfiledOp(string Name, ProfilePhase Phase, string Shapes, DType DType, Device Device,
    TimeSpan Start, TimeSpan Duration, double Flops, long Bytes, int ThreadId);
