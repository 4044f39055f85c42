using System.Diagnostics;
using Tensorium.Bert;
using Tensorium.Tests.Bert;
using Tensorium.Tests.Data;

namespace Tensorium.Tests.Examples;

/// <summary>
/// The bert example: verses parsed with their books and classes, --checkpoint reading a Hugging
/// Face directory (the fixture's), and short end-to-end runs (the fixture's tiny model; two
/// pretraining steps) when the bible command is installed.
/// </summary>
[NonParallelizable]   // the runs write to Console.Out
public class BertExampleTests
{
    private DataTempFolder _folder = null!;

    [SetUp] public void MakeFolder() => _folder = new DataTempFolder();
    [TearDown] public void RemoveFolder() => _folder.Dispose();

    [Test]
    public void VersesKeepTheirBookAndClass()
    {
        var verses = BertExample.ParseVerses("Ge1:1 In the beginning God created the heaven and the earth.\n" +
            "Psa23:1 The LORD is my shepherd; I shall not want.\n1Cor13:13 And now abideth faith, hope, charity.\nRev22:21 The grace of our Lord Jesus Christ be with you all. Amen.\n");
        Assert.That(verses.Select(v => v.Book), Is.EqualTo(new[] { "Ge", "Psa", "1Cor", "Rev" }));
        Assert.That(verses.Select(v => v.Group), Is.EqualTo(new[] { 0, 2, 5, 5 }));
        Assert.That(verses[1].Text, Is.EqualTo("The LORD is my shepherd; I shall not want."));
        var e = Assert.Throws<InvalidDataException>(() => BertExample.ParseVerses("Gen1:1 In the beginning\n"));
        Assert.That(e!.Message, Does.Contain("got \"Gen1:1 In the beginning\""));
    }

    [Test]
    public void CheckpointDirectoryLoadsTheFixture()
    {
        var (config, tokenizer, weights) = BertExample.LoadCheckpoint(BertFixture.Directory);
        Assert.That(config.VocabSize, Is.EqualTo(40));
        Assert.That(tokenizer.VocabSize, Is.EqualTo(40));
        Assert.That(weights, Is.EqualTo(BertFixture.Weights));

        // A vocabulary that does not fit the config, and a missing file, are refused by name.
        foreach (var file in new[] { BertCheckpoint.ConfigFile, BertCheckpoint.WeightsFile })
            File.Copy(Path.Combine(BertFixture.Directory, file), _folder.File(file));
        File.WriteAllLines(_folder.File(BertCheckpoint.VocabularyFile), WordPieceTokenizer.SpecialTokens);
        var e = Assert.Throws<InvalidDataException>(() => BertExample.LoadCheckpoint(_folder.Path));
        Assert.That(e!.Message, Does.Contain("vocab.txt has 5 tokens, config.json says vocab_size 40"));
        File.Copy(Path.Combine(BertFixture.Directory, BertCheckpoint.VocabularyFile), _folder.File(BertCheckpoint.VocabularyFile), overwrite: true);
        File.Delete(_folder.File(BertCheckpoint.WeightsFile));
        var missing = Assert.Throws<FileNotFoundException>(() => BertExample.LoadCheckpoint(_folder.Path));
        Assert.That(missing!.Message, Does.Contain("has no model.safetensors"));
    }

    private static bool BibleInstalled()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("bible", ["-f", "Gen1:1"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    [Test]
    public void FineTunesTheFixtureCheckpoint()
    {
        Assume.That(BibleInstalled(), "the bible command (Debian's bible-kjv) is not installed");
        int code = ExampleCommand.Run(["bert", "--checkpoint", BertFixture.Directory, "--epochs", "1", "--limit", "100", "--out", _folder.Path]);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(File.Exists(_folder.File("bert.safetensors")), "the fine-tuned classifier is saved");
        string run = Directory.GetDirectories(Path.Combine(_folder.Path, "runs")).Single();
        Assert.That(File.ReadAllLines(Path.Combine(run, BertCheckpoint.VocabularyFile)), Has.Length.EqualTo(40));
        using var model = new BertForSequenceClassification(BertFixture.Config, 6);
        var report = BertCheckpoint.LoadInto(_folder.File("bert.safetensors"), model, strict: true);
        Assert.That(report.Initialized, Is.Empty);
    }

    [Test]
    public void PretrainsSavesAHuggingFaceDirectoryAndFineTunes()
    {
        Assume.That(BibleInstalled(), "the bible command (Debian's bible-kjv) is not installed");
        int code = ExampleCommand.Run(["bert", "--steps", "2", "--epochs", "1", "--limit", "100", "--out", _folder.Path]);
        Assert.That(code, Is.EqualTo(0));
        string pretrained = Directory.GetDirectories(Path.Combine(_folder.Path, "runs"), "bert-mlm-*").Single();
        Assert.That(File.Exists(Path.Combine(pretrained, "bert-mlm-history.csv")));
        // The pretrained model is a Hugging Face directory that --checkpoint reads.
        var (config, tokenizer, weights) = BertExample.LoadCheckpoint(Path.Combine(pretrained, "huggingface"));
        Assert.That(config.HiddenSize, Is.EqualTo(128));
        using var mlm = new BertForMaskedLM(config);
        Assert.That(BertCheckpoint.LoadInto(weights, mlm, strict: true).Initialized, Is.Empty);
        Assert.That(File.Exists(_folder.File("bert.json")) && File.Exists(_folder.File("bert-mlm.json")));
    }
}
