namespace Tensorium;

/// <summary>
/// Whether the tape is recording on this thread. The flag lives in the Engine so that in-place
/// writes (<see cref="Tensor.CopyFrom"/>) can refuse to change a tensor the tape is tracking;
/// the Autograd's <c>Tape.NoGrad()</c> is the only thing that turns it off.
/// </summary>
internal static class GradMode
{
    /// <summary>Depth of nested <c>Tape.NoGrad()</c> scopes on this thread.</summary>
    [ThreadStatic] internal static int NoGradDepth;

    /// <summary>False inside <c>Tape.NoGrad()</c>: ops then record nothing.</summary>
    internal static bool IsRecording => NoGradDepth == 0;
}
