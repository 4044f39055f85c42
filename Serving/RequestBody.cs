using System.Buffers;
using System.Text.Json;

namespace Tensorium.Serving;

/// <summary>Reads a request's body; malformed JSON is a 400, a body over the limit a 413 (from Kestrel).</summary>
public static class RequestBody
{
    /// <summary>The body parsed as JSON; <paramref name="expected"/> describes the body the endpoint wants, for the error.</summary>
    /// <exception cref="ProblemException">400: the body is empty or not valid JSON.</exception>
    public static async Task<JsonDocument> ReadJsonAsync(HttpContext context, string expected)
    {
        string where = $"{context.Request.Method} {context.Request.Path}";
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 32 }, context.RequestAborted);
        }
        catch (JsonException e)
        {
            throw ProblemException.BadInput($"{where}: the body is not valid JSON ({e.Message}); expected {expected}.");
        }
    }

    /// <summary>
    /// The whole body in one buffer rented from <see cref="ArrayPool{T}.Shared"/>: dispose the
    /// result to give it back. It waits for the last byte, as parsing the body needs it all.
    /// </summary>
    public static async Task<RentedBytes> ReadBytesAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            var buffer = result.Buffer;
            if (result.IsCompleted)
            {
                var bytes = new RentedBytes(checked((int)buffer.Length));
                buffer.CopyTo(bytes.Array);
                reader.AdvanceTo(buffer.End);
                return bytes;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);   // nothing consumed yet: ask for more
        }
    }
}
