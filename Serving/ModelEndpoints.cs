using Tensorium.Models;

namespace Tensorium.Serving;

/// <summary><c>GET /v1/models</c>, <c>GET /v1/models/{name}</c> and <c>POST /v1/models/{name}/predict</c>.</summary>
public static class ModelEndpoints
{
    /// <summary>How many classes a classifier's answer lists per example.</summary>
    public const int TopClasses = 5;

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
    public static async Task<IResult> PredictAsync(string name, HttpContext context, ModelStore store, ServingOptions options)
    {
        System.Text.Json.JsonDocument? body = null;
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
                body ??= await RequestBody.ReadJsonAsync(context, $"{{\"inputs\": [...]}} with one example of {InputParser.Describe(card.Input)} or a batch of them");
                var inputs = InputParser.Parse(body.RootElement, card, options.MaxBatchSize);
                var pending = lease.Served.Batcher.Enqueue(inputs.Values, inputs.Count, context.RequestAborted);
                if (pending == null) continue;
                var output = await pending.WaitAsync(context.RequestAborted);
                return Results.Json(Answer(card, inputs, output));
            }
            throw new ProblemException(StatusCodes.Status503ServiceUnavailable, "Model reloading",
                $"POST /v1/models/{name}/predict: the model was replaced three times while this request waited; expected a retry.", retryAfterSeconds: 1);
        }
        finally
        {
            body?.Dispose();
        }
    }

    private static object Answer(ModelCard card, ParsedInputs inputs, BatchOutput output)
    {
        int width = output.Width;
        float[] Row(float[] values, int i) => values.AsSpan(i * width, width).ToArray();
        IReadOnlyList<ClassPrediction>? Top(int i) => output.Probabilities is { } p && card.Kind == ModelKind.Classifier
            ? ClassPrediction.Top(p.AsSpan(i * width, width), card.Labels, TopClasses) : null;
        if (!inputs.Batched)
            return new { Model = card.Name, Outputs = output.Outputs, Predictions = Top(0), BatchSize = output.BatchSize };
        return new
        {
            Model = card.Name,
            Outputs = Enumerable.Range(0, inputs.Count).Select(i => Row(output.Outputs, i)).ToArray(),
            Predictions = output.Probabilities == null ? null : Enumerable.Range(0, inputs.Count).Select(Top).ToArray(),
            BatchSize = output.BatchSize,
        };
    }
}
