using System.Text.Json;
using System.Text.Json.Serialization;
using StreamLb.Balancing;

namespace StreamLb.Host.Admin;

// The admin API's JSON, shaped like nginx Plus's /api/…/stream/upstreams: snake_case, one object per upstream keyed
// by name, one "peer" per server, errors as {"error": {"status", "text", "code"}}.

internal sealed record UpstreamJson(string Policy, int Zombies, IReadOnlyList<PeerJson> Peers);

internal sealed record PeerJson(
    int Id,
    string Server,
    int Weight,
    string State,
    int Active,
    int MaxConns,
    bool Backup,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] HealthChecksJson? HealthChecks);

internal sealed record HealthChecksJson(long Checks, int Fails, bool Unhealthy, bool LastPassed, string? LastError);

/// <summary>
/// This node's picks so far: how many, how many the fallback and a pick made ahead answered, latency percentiles in
/// milliseconds; <see cref="Asked"/>: those of the picks the balancer answered when asked.
/// </summary>
internal sealed record PicksJson(long Picks, long Fallbacks, long MadeAhead, double P50Ms, double P90Ms, double P99Ms, double MaxMs, AskedPicksJson Asked);

internal sealed record AskedPicksJson(long Picks, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>
/// This node's client connections, as nginx Plus's <c>/connections</c>: accepted since start, open now, and the most it
/// takes at once (<see cref="Listening.ConnectionLimit"/>) with the open-file limit that comes from.
/// </summary>
internal sealed record ConnectionsJson(long Accepted, int Active, int Max, long? OpenFileLimit);

internal sealed record ErrorJson(ErrorDetailJson Error);

internal sealed record ErrorDetailJson(int Status, string Text, string Code);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Dictionary<string, UpstreamJson>))]
[JsonSerializable(typeof(UpstreamJson))]
[JsonSerializable(typeof(PeerJson))]
[JsonSerializable(typeof(PicksJson))]
[JsonSerializable(typeof(ConnectionsJson))]
[JsonSerializable(typeof(ErrorJson))]
internal sealed partial class AdminJsonContext : JsonSerializerContext
{
    // The default encoder writes a quote as \u0022; the API is JSON for programs and people, never embedded in HTML.
    public static AdminJsonContext Relaxed { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>A request the admin API refuses: answered with the status and an nginx Plus style error object.</summary>
internal sealed class AdminError(int status, string code, string text) : Exception(text)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static AdminError Invalid(string text) => new(StatusCodes.Status400BadRequest, "InvalidRequest", text);

    public static AdminError UpstreamNotFound(string upstream) =>
        new(StatusCodes.Status404NotFound, "UpstreamNotFound", $"upstream \"{upstream}\" not found");

    public static AdminError Unauthorized() =>
        new(StatusCodes.Status401Unauthorized, "Unauthorized", "changes need an \"Authorization: Bearer <token>\" header with the admin token");

    public static AdminError Unavailable(string text) => new(StatusCodes.Status503ServiceUnavailable, "Unavailable", text);

    public static AdminError Rejected(ServerChangeRejected rejected) => rejected.Error switch
    {
        ServerChangeError.NotFound => new(StatusCodes.Status404NotFound, "ServerNotFound", rejected.Message),
        ServerChangeError.Conflict => new(StatusCodes.Status409Conflict, "ServerAlreadyExists", rejected.Message),
        ServerChangeError.Unavailable => Unavailable(rejected.Message),
        _ => Invalid(rejected.Message),
    };

    public ErrorJson ToJson() => new(new ErrorDetailJson(Status, Message, Code));
}

/// <summary>Snapshots to JSON, and request bodies to balancer messages.</summary>
internal static class AdminJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };

    public static UpstreamJson ToJson(UpstreamSnapshot upstream) =>
        new(upstream.Policy, upstream.Zombies, upstream.Servers.Select(ToJson).ToArray());

    public static PeerJson ToJson(ServerSnapshot server) =>
        new(server.Id, server.Address, server.Weight, StateName(server.State), server.Active, server.MaxConns, server.Backup,
            server.Health is { } health
                // last_passed reads LastError as the error of the last check, so a passed last check has none.
                ? new HealthChecksJson(health.Checks, health.Fails, !health.Healthy, health.LastChecked is not null && health.LastError is null, health.LastError)
                : null);

    public static PicksJson ToJson(PickLatencySnapshot picks) =>
        new(picks.All.Count, picks.Fallbacks, picks.MadeAhead, Ms(picks.All.P50), Ms(picks.All.P90), Ms(picks.All.P99), Ms(picks.All.Max),
            new AskedPicksJson(picks.Asked.Count, Ms(picks.Asked.P50), Ms(picks.Asked.P90), Ms(picks.Asked.P99), Ms(picks.Asked.Max)));

    private static double Ms(TimeSpan time) => Math.Round(time.TotalMilliseconds, 3);

    public static string StateName(ServerState state) => state switch
    {
        ServerState.Up => "up",
        ServerState.Down => "down",
        ServerState.Draining => "draining",
        ServerState.Failed => "failed",
        ServerState.Unhealthy => "unhealthy",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>The body of a POST: <c>{"server":"host:port","weight":1,"max_conns":0,"backup":false,"down":false,"drain":false}</c>.</summary>
    public static async Task<AddServer> ReadAddServer(string upstream, HttpRequest request, CancellationToken cancel)
    {
        using var body = await ReadObject(request, ["server", "weight", "max_conns", "backup", "down", "drain"], cancel).ConfigureAwait(false);
        var root = body.RootElement;
        if (!root.TryGetProperty("server", out var server))
            throw AdminError.Invalid("\"server\" is required");
        if (server.ValueKind != JsonValueKind.String)
            throw AdminError.Invalid("\"server\" must be a string \"host:port\"");
        return new AddServer(upstream, server.GetString()!, Int(root, "weight") ?? 1, Int(root, "max_conns") ?? 0, Bool(root, "backup") ?? false,
            Mode(root) ?? ServerMode.Up);
    }

    /// <summary>The body of a PATCH: <c>{"drain":true}</c>, <c>{"down":true}</c>, <c>{"down":false}</c> (back up) and/or <c>{"weight":3}</c>.</summary>
    public static async Task<UpdateServer> ReadUpdateServer(string upstream, string server, HttpRequest request, CancellationToken cancel)
    {
        using var body = await ReadObject(request, ["weight", "down", "drain"], cancel).ConfigureAwait(false);
        var root = body.RootElement;
        if (!root.EnumerateObject().Any())
            throw AdminError.Invalid("nothing to change: give \"drain\", \"down\" or \"weight\"");
        return new UpdateServer(upstream, server, Mode(root), Int(root, "weight"));
    }

    private static async Task<JsonDocument> ReadObject(HttpRequest request, string[] fields, CancellationToken cancel)
    {
        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(request.Body, DocumentOptions, cancel).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw AdminError.Invalid(e.LineNumber is { } line && e.BytePositionInLine is { } position
                ? $"the request body is not valid JSON (line {line + 1}, byte {position + 1})"
                : "the request body is not valid JSON");
        }

        try
        {
            if (body.RootElement.ValueKind != JsonValueKind.Object)
                throw AdminError.Invalid("the request body must be a JSON object");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in body.RootElement.EnumerateObject())
            {
                if (!fields.Contains(property.Name, StringComparer.Ordinal))
                    throw AdminError.Invalid($"unknown field \"{property.Name}\": expected {string.Join(", ", fields.Select(f => $"\"{f}\""))}");
                if (!seen.Add(property.Name))
                    throw AdminError.Invalid($"field \"{property.Name}\" is given twice");
            }

            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>A true <c>drain</c> drains, a true <c>down</c> takes the server down, a false one alone brings it back up.</summary>
    private static ServerMode? Mode(JsonElement body)
    {
        var down = Bool(body, "down");
        var drain = Bool(body, "drain");
        return (drain, down) switch
        {
            (true, true) => throw AdminError.Invalid("\"drain\" and \"down\" cannot both be true"),
            (true, _) => ServerMode.Drain,
            (_, true) => ServerMode.Down,
            (false, _) or (_, false) => ServerMode.Up,
            _ => null,
        };
    }

    private static int? Int(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value))
            return null;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw AdminError.Invalid($"\"{name}\" must be an integer");
    }

    private static bool? Bool(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value))
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw AdminError.Invalid($"\"{name}\" must be true or false"),
        };
    }
}
