namespace Tensorium.Serving;

/// <summary>
/// A request the host refuses, with the HTTP status and the sentence that names what was
/// expected; <see cref="ProblemMiddleware"/> answers it as RFC 7807 <c>application/problem+json</c>.
/// </summary>
public sealed class ProblemException(int status, string title, string detail, int? retryAfterSeconds = null) : Exception(detail)
{
    /// <summary>The HTTP status code (400, 404, 413, 503, ...).</summary>
    public int Status { get; } = status;

    /// <summary>A short, fixed summary of the kind of problem ("Invalid input").</summary>
    public string Title { get; } = title;

    /// <summary>What was wrong with this request and what was expected.</summary>
    public string Detail { get; } = detail;

    /// <summary>Seconds after which a retry may succeed (sent as Retry-After), for 503s.</summary>
    public int? RetryAfterSeconds { get; } = retryAfterSeconds;

    /// <summary>A 400 Bad Request: the body does not fit what the endpoint expects.</summary>
    public static ProblemException BadInput(string detail) => new(StatusCodes.Status400BadRequest, "Invalid input", detail);

    /// <summary>A 404 for a model that is not served, naming the <paramref name="endpoint"/> asked (e.g. "POST /v1/models/x/predict") and the models served.</summary>
    public static ProblemException UnknownModel(string endpoint, string name, IEnumerable<string> served) =>
        new(StatusCodes.Status404NotFound, "Unknown model",
            $"{endpoint}: no model named '{name}' is served; expected one of: {string.Join(", ", served.DefaultIfEmpty("(none loaded)"))}.");
}
