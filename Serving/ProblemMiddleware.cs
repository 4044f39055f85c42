using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Tensorium.Serving;

/// <summary>
/// Turns refused requests into RFC 7807 answers: a <see cref="ProblemException"/> from an
/// endpoint, and Kestrel's own refusals (a body over the size limit is a 413, a malformed
/// request a 400), so bad input never becomes a 500.
/// </summary>
public sealed class ProblemMiddleware(RequestDelegate next)
{
    /// <summary>Runs the rest of the pipeline and answers its refusals.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ProblemException e) when (!context.Response.HasStarted)
        {
            if (e.RetryAfterSeconds is int seconds) context.Response.Headers.RetryAfter = seconds.ToString();
            await Write(context, e.Status, e.Title, e.Detail);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            string detail = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"{context.Request.Method} {context.Request.Path}: the body is larger than the limit of {MaxBody(context)} bytes; expected a smaller request (split a batch)."
                : $"{context.Request.Method} {context.Request.Path}: {e.Message}";
            await Write(context, e.StatusCode, e.StatusCode == 413 ? "Request body too large" : "Bad request", detail);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody is left to answer.
        }
    }

    private static long? MaxBody(HttpContext context) =>
        context.RequestServices.GetService<Microsoft.Extensions.Options.IOptions<KestrelServerOptions>>()?.Value.Limits.MaxRequestBodySize;

    private static Task Write(HttpContext context, int status, string title, string detail) =>
        WithContentLength(context, () => Results.Problem(detail: detail, statusCode: status, title: title, instance: context.Request.Path).ExecuteAsync(context));

    /// <summary>
    /// Runs <paramref name="write"/> into a buffer, then sends what it wrote with its length, as
    /// the predict answers are: a problem is small, and a client then reads one plain body instead
    /// of a chunked one.
    /// </summary>
    public static async Task WithContentLength(HttpContext context, Func<Task> write)
    {
        var response = context.Response;
        var body = response.Body;
        using var buffer = new MemoryStream();
        response.Body = buffer;   // the writer's JSON goes to the buffer, and no header is sent yet
        try
        {
            await write();
        }
        finally
        {
            response.Body = body;
        }
        response.ContentLength = buffer.Length;
        await body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}
