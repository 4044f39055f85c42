using System.Text.Json;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary>
/// <c>POST /v1/models/{name}/generate</c> for a character language model: body
/// <c>{"prompt": "...", "max_tokens": 100, "temperature": 0.8, "seed": 1}</c>. Answers
/// <c>{"text": ...}</c>, or, when the client accepts <c>text/event-stream</c>, streams each
/// character as a server-sent event <c>data: {"token": "c"}</c> as it is generated, ending with
/// <c>event: done</c>. A client that goes away stops the generation. At most
/// <see cref="ServingOptions.MaxConcurrentGenerations"/> run per model; one more is refused at
/// once with a 503 and Retry-After. Each model step runs on the thread pool, off the request's
/// thread, so a long generation never holds the thread that serves the connection.
/// </summary>
public static class GenerateEndpoint
{
    private const string Expected = "{\"prompt\": \"text\", \"max_tokens\": 100, \"temperature\": 0.8} (max_tokens, temperature and seed optional)";

    /// <summary>Maps the endpoint.</summary>
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/models/{name}/generate", GenerateAsync);

    /// <summary>Generates text for one request.</summary>
    public static async Task GenerateAsync(string name, HttpContext context, ModelStore store, ServingOptions options)
    {
        string where = $"POST /v1/models/{name}/generate";
        using var lease = store.Acquire(name, where);
        var model = lease.Served.Model;
        if (model.Card.Kind != ModelKind.LanguageModel)
            throw ProblemException.BadInput($"{where}: model '{name}' is a {model.Card.Kind}; expected a {ModelKind.LanguageModel} (use POST /v1/models/{name}/predict).");
        // Each generation keeps a core busy for as long as it runs: refuse one more at once
        // rather than let them queue up and slow every other request down.
        if (!lease.Served.TryStartGeneration())
            throw new ProblemException(StatusCodes.Status503ServiceUnavailable, "Too many generations",
                $"{where}: model '{name}' is already running {lease.Served.Generations} generations (the limit is {options.MaxConcurrentGenerations}); expected a retry after a short wait.",
                retryAfterSeconds: 1);
        try
        {
            await RunAsync(name, context, model, options, where);
        }
        finally
        {
            lease.Served.EndGeneration();
        }
    }

    /// <summary>Reads the body, generates and answers (JSON or a stream), within the request's generation slot.</summary>
    private static async Task RunAsync(string name, HttpContext context, LoadedModel model, ServingOptions options, string where)
    {
        using var body = await RequestBody.ReadJsonAsync(context, Expected);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw ProblemException.BadInput($"{where}: the body is a JSON {root.ValueKind}; expected {Expected}.");
        string prompt = Find(root, "prompt", where, out var p) && p.ValueKind == JsonValueKind.String
            ? Text(p, "prompt", where) : throw ProblemException.BadInput($"{where}: \"prompt\" is missing or not a string; expected {Expected}.");
        // The default of 100 is held to the limit too: a host limited to fewer must not generate
        // more for a request that names no max_tokens.
        int maxTokens = Int(root, "max_tokens", Math.Min(100, options.MaxGeneratedTokens), 0, options.MaxGeneratedTokens, where);
        double temperature = Number(root, "temperature", 0.8, where);
        int seed = Int(root, "seed", Random.Shared.Next(), int.MinValue, int.MaxValue, where);

        IEnumerable<char> tokens;
        try
        {
            tokens = TextGeneration.Generate(model, prompt, maxTokens, temperature, new Random(seed));
        }
        catch (ArgumentException e)
        {
            // TextGeneration names itself ("generate: ..."): the endpoint's name replaces it.
            const string op = "generate: ";
            string reason = e.Message.StartsWith(op, StringComparison.Ordinal) ? e.Message[op.Length..] : e.Message;
            throw ProblemException.BadInput($"{where}: {reason}");
        }

        // One model step per MoveNext: run each on the thread pool, not on the request's thread.
        using var steps = tokens.GetEnumerator();
        Task<bool> NextAsync() => Task.Run(steps.MoveNext, context.RequestAborted);

        bool stream = context.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);
        if (!stream)
        {
            var text = new System.Text.StringBuilder();
            while (await NextAsync())
            {
                context.RequestAborted.ThrowIfCancellationRequested();
                text.Append(steps.Current);
            }
            await Results.Json(new { Model = name, Prompt = prompt, Text = text.ToString(), Seed = seed }).ExecuteAsync(context);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";   // proxies such as nginx: do not hold the stream back
        var all = new System.Text.StringBuilder();
        while (await NextAsync())
        {
            char c = steps.Current;
            all.Append(c);
            await context.Response.WriteAsync($"data: {JsonSerializer.Serialize(new { token = c.ToString() })}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
        await context.Response.WriteAsync($"event: done\ndata: {JsonSerializer.Serialize(new { text = all.ToString(), seed })}\n\n", context.RequestAborted);
    }

    /// <summary>
    /// The string <paramref name="e"/> holds. The JSON reader accepts a string of invalid UTF-8
    /// or with a lone surrogate escape (<c>"\ud800"</c>) and only refuses it when it is read as
    /// text, with an InvalidOperationException that would otherwise be a 500.
    /// </summary>
    private static string Text(JsonElement e, string key, string where)
    {
        try
        {
            return e.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ProblemException.BadInput($"{where}: \"{key}\" is not valid Unicode text (it has invalid UTF-8 bytes or a lone surrogate escape such as \\ud800); expected {Expected}.");
        }
    }

    /// <summary>
    /// <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>, which throws an
    /// InvalidOperationException (a 500) when it meets a property name with a lone surrogate
    /// escape (<c>"\ud800"</c>) that the JSON reader accepted.
    /// </summary>
    private static bool Find(JsonElement root, string key, string where, out JsonElement value)
    {
        try
        {
            return root.TryGetProperty(key, out value);
        }
        catch (InvalidOperationException)
        {
            throw ProblemException.BadInput($"{where}: a property name is not valid Unicode text (it has invalid UTF-8 bytes or a lone surrogate escape such as \\ud800); expected {Expected}.");
        }
    }

    private static int Int(JsonElement root, string key, int fallback, int min, int max, string where)
    {
        if (!Find(root, key, where, out var e) || e.ValueKind == JsonValueKind.Null) return fallback;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= min && v <= max) return v;
        throw ProblemException.BadInput($"{where}: \"{key}\" is {InputParser.Truncate(e.GetRawText())}; expected an integer in [{min}, {max}].");
    }

    private static double Number(JsonElement root, string key, double fallback, string where)
    {
        if (!Find(root, key, where, out var e) || e.ValueKind == JsonValueKind.Null) return fallback;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) && double.IsFinite(v) && v >= 0) return v;
        throw ProblemException.BadInput($"{where}: \"{key}\" is {InputParser.Truncate(e.GetRawText())}; expected a number >= 0 (0: always the most likely character).");
    }
}
