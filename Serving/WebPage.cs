namespace Tensorium.Serving;

/// <summary><c>GET /</c>: the single-file web page (HTML, CSS and script in one, no build step), served from the assembly.</summary>
public static class WebPage
{
    private static readonly Lazy<string> Html = new(() =>
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream("Tensorium.Serving.index.html")
            ?? throw new InvalidOperationException("WebPage: the embedded resource Tensorium.Serving.index.html is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>Maps the page.</summary>
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/", () => Results.Content(Html.Value, "text/html; charset=utf-8"));
}
