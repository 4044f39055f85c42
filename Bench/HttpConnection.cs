using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tensorium.Bench;

/// <summary>
/// One kept-alive HTTP/1.1 connection that sends prepared requests and reads each answer by its
/// Content-Length, as the load tool wrk does: a request's bytes (headers and body) are built once
/// and sent with one call. The serving bench's clients use
/// it so that they spend as little as they can of the cores they share with the server. It reads
/// answers with a Content-Length or in chunks, which is what the serving host sends.
/// Its calls block: each client is a thread of its own that sleeps in the kernel until its answer
/// comes, which costs less than an asynchronous wait (no hop through the socket engine's thread
/// and the thread pool) and keeps the clients' CPU apart from the server's, on threads the bench
/// can measure by name.
/// </summary>
public sealed class HttpConnection : IDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 * 1024];

    private HttpConnection(Socket socket) => _socket = socket;

    /// <summary>Opens a connection to <paramref name="address"/> (an IP address and port).</summary>
    public static HttpConnection Open(Uri address)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Parse(address.Host), address.Port));
        return new HttpConnection(socket);
    }

    /// <summary>The bytes of a POST of <paramref name="body"/> (JSON) to <paramref name="uri"/>, to send with <see cref="Send"/> as often as wanted.</summary>
    public static byte[] Post(Uri uri, byte[] body)
    {
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        return [.. head, .. body];
    }

    /// <summary>Sends <paramref name="request"/> and reads the whole answer; returns its status code.</summary>
    /// <exception cref="IOException">The server closed the connection or sent an answer without Content-Length.</exception>
    public int Send(byte[] request)
    {
        for (int sent = 0; sent < request.Length;) sent += _socket.Send(request, sent, request.Length - sent, SocketFlags.None);
        int filled = 0, headEnd;
        while ((headEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0) filled += Receive(filled);
        string head = Encoding.ASCII.GetString(_buffer, 0, headEnd);
        int status = int.Parse(head.AsSpan("HTTP/1.1 ".Length, 3));
        if (Header(head, "content-length") is string length)
        {
            int total = headEnd + 4 + int.Parse(length);
            if (total > _buffer.Length) Array.Resize(ref _buffer, total);
            while (filled < total) filled += Receive(filled);
        }
        else if (Header(head, "transfer-encoding") == "chunked")
        {
            // Problem answers are written in chunks: read up to the last, empty one.
            while (!_buffer.AsSpan(headEnd, filled - headEnd).EndsWith("\r\n0\r\n\r\n"u8)) filled += Receive(filled);
        }
        else throw new IOException($"HttpConnection: an answer without Content-Length or chunks ({head.Split("\r\n")[0]}); expected one of them.");
        return status;
    }

    private int Receive(int filled)
    {
        if (filled == _buffer.Length) Array.Resize(ref _buffer, 2 * _buffer.Length);
        int read = _socket.Receive(_buffer, filled, _buffer.Length - filled, SocketFlags.None);
        return read > 0 ? read : throw new IOException("HttpConnection: the server closed the connection mid-answer; expected a whole answer.");
    }

    /// <summary>The value of the header <paramref name="name"/> (lower case) in <paramref name="head"/>; null when absent.</summary>
    private static string? Header(string head, string name)
    {
        int at = head.IndexOf($"\r\n{name}:", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return null;
        int start = at + name.Length + 3, end = head.IndexOf('\r', start);
        return head[start..(end < 0 ? head.Length : end)].Trim().ToLowerInvariant();
    }

    /// <summary>Closes the connection.</summary>
    public void Dispose() => _socket.Dispose();
}
