using System.Buffers;
using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary><c>GET /v1/models</c>, <c>GET /v1/models/{name}</c> and <c>POST /v1/models/{name}/predict</c>.</summary>
public static class ModelEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (ModelStore store) => Results.Json(new
        {
            Models = store.Models.Values.OrderBy(m => m.Model.Name, StringComparer.Ordinal).Select(ModelInfo.Of),
            Failures = store.Failures,
        }));
        app.MapGet("/v1/models/{name}", (string name, ModelStore store) =>
        {
            using var lease = store.Acquire(name, $"GET /v1/models/{name}");
            return Results.Json(ModelInfo.Of(lease.Served));
        });
        app.MapPost("/v1/models/{name}/predict", PredictAsync);
    }

    /// <summary>
    /// Checks the body against the model's card, queues it for the next batch and answers with
    /// the outputs and, for a classifier, the top classes with their probabilities.
    /// </summary>
    public static async Task PredictAsync(string name, HttpContext context, ModelStore store, ServingOptions options)
    {
        RentedBytes? body = null;
        try
        {
            // A model swapped by hot reload between the look-up and the queue: use its successor.
            for (int attempt = 0; attempt < 3; attempt++)
            {
                using var lease = store.Acquire(name, $"POST /v1/models/{name}/predict");
                var card = lease.Served.Model.Card;
                if (card.Input.DType != "float32")
                    throw ProblemException.BadInput($"POST /v1/models/{name}/predict: model '{name}' is a {card.Kind} reading {card.Input.DType} token ids; expected a model of float32 inputs" +
                        (card.Kind == ModelKind.LanguageModel ? $" (use POST /v1/models/{name}/generate)." : " (this model is used from code: ModelFiles.Load)."));
                body ??= await RequestBody.ReadBytesAsync(context);
                var inputs = InputParser.Parse(body.Span, card, options.MaxBatchSize);
                var pending = lease.Served.Batcher.Enqueue(inputs.Values, inputs.Count, context.RequestAborted);
                if (pending == null) continue;
                var output = await pending.WaitAsync(context.RequestAborted);
                CheckFinite(name, inputs, output);
                await WriteAsync(context, card, inputs, output);
                return;
            }
            throw new ProblemException(StatusCodes.Status503ServiceUnavailable, "Model reloading",
                $"POST /v1/models/{name}/predict: the model was replaced three times while this request waited; expected a retry.", retryAfterSeconds: 1);
        }
        finally
        {
            body?.Dispose();
        }
    }

    /// <summary>
    /// Refuses outputs JSON cannot carry. Finite inputs the card allows (a card may set no range)
    /// can still overflow the model to infinity or NaN, and the JSON writer then threw: a bare 500.
    /// </summary>
    /// <exception cref="ProblemException">422: an output is NaN or infinite.</exception>
    private static void CheckFinite(string name, ParsedInputs inputs, BatchOutput output)
    {
        for (int i = 0; i < output.Outputs.Length; i++)
        {
            float v = output.Outputs[i];
            if (float.IsFinite(v)) continue;
            int example = i / output.Width;
            string at = inputs.Batched ? $"example {example}, output {i % output.Width}" : $"output {i}";
            int perExample = inputs.Values.Length / inputs.Count;
            float largest = 0;
            foreach (float x in inputs.Values.AsSpan(example * perExample, perExample)) largest = MathF.Max(largest, MathF.Abs(x));
            throw new ProblemException(StatusCodes.Status422UnprocessableEntity, "Outputs not finite",
                $"POST /v1/models/{name}/predict: the model's {at} came out {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} (JSON cannot carry it) for inputs as large as {largest.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; expected inputs on the scale the model was trained on.");
        }
    }

    /// <summary>The answer as JSON with its length, so the client is not sent a chunked body.</summary>
    private static async Task WriteAsync(HttpContext context, ModelCard card, ParsedInputs inputs, BatchOutput output)
    {
        var answer = new ArrayBufferWriter<byte>(1024);
        PredictAnswer.Write(answer, card, inputs, output);
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = answer.WrittenCount;
        await context.Response.Body.WriteAsync(answer.WrittenMemory, context.RequestAborted);
    }
}
