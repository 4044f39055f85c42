using System.Diagnostics;

/// <summary>
/// The King James Bible from Debian's <c>bible</c> command (packages bible-kjv and
/// bible-kjv-text, which <c>./build.sh demo</c> installs for the examples that read it): one
/// verse a line, each starting with its reference ("Ge1:1 In the beginning ...").
/// </summary>
static class KingJamesBible
{
    /// <summary>
    /// Every verse, Genesis 1:1 to Revelation 22:21; null (after saying why, how to install it, and
    /// the <paramref name="alternative"/> the example offers) when the command cannot run.
    /// </summary>
    public static string? Read(string example, string alternative = "")
    {
        Console.WriteLine("Reading the King James Bible (bible -f Gen1:1-Rev22:21)");
        try
        {
            var info = new ProcessStartInfo("bible", ["-f", "Gen1:1-Rev22:21"]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || output.Length == 0) throw new InvalidOperationException($"bible exited with code {process.ExitCode}");
            return output;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Console.Error.WriteLine($"{example}: could not run the 'bible' command ({e.Message}). Install it with 'sudo apt-get install -y bible-kjv bible-kjv-text'{alternative}.");
            return null;
        }
    }
}
