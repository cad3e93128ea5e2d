using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using StreamLb.Balancing;

namespace StreamLb.Clustering;

/// <summary>
/// The balancer's messages as they cross the cluster: a pick (asked, or made ahead and taken) and a connection's end,
/// and the periodic ones (each node's snapshot refresh for its fallback picker, each ledger's reports), in a compact
/// binary form instead of JSON with type names. JSON cost up to a third of a millisecond per snapshot on each side, and a pick that met one on its
/// way waited for it.
/// </summary>
public sealed class BalancerSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The HOCON that binds the messages to this serializer.</summary>
    public const string Hocon = """
        akka.actor {
          serializers.streamlb-balancer = "StreamLb.Clustering.BalancerSerializer, StreamLb"
          serialization-bindings {
            "StreamLb.Balancing.Acquire, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.Assigned, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.NoServerAvailable, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.Release, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.NextPick, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.NextPickTaken, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.NextPickConfirmed, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.ConnectFailed, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.LedgerReport, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.GetUpstreamSnapshot, StreamLb" = streamlb-balancer
            "StreamLb.Balancing.UpstreamSnapshot, StreamLb" = streamlb-balancer
          }
        }
        """;

    private const string AcquireManifest = "A";
    private const string AssignedManifest = "S";
    private const string NoServerManifest = "N";
    private const string ReleaseManifest = "R";
    private const string NextPickManifest = "P";
    private const string NextPickTakenManifest = "T";
    private const string NextPickConfirmedManifest = "C";
    private const string ConnectFailedManifest = "F";
    private const string LedgerReportManifest = "L";
    private const string GetSnapshotManifest = "G";
    private const string SnapshotManifest = "U";

    public override int Identifier => 7411;

    public override string Manifest(object o) => o switch
    {
        Acquire => AcquireManifest,
        Assigned => AssignedManifest,
        NoServerAvailable => NoServerManifest,
        Release => ReleaseManifest,
        NextPick => NextPickManifest,
        NextPickTaken => NextPickTakenManifest,
        NextPickConfirmed => NextPickConfirmedManifest,
        ConnectFailed => ConnectFailedManifest,
        LedgerReport => LedgerReportManifest,
        GetUpstreamSnapshot => GetSnapshotManifest,
        UpstreamSnapshot => SnapshotManifest,
        _ => throw Unknown(o),
    };

    private static ArgumentException Unknown(object o) =>
        new($"{o.GetType()} is not a balancer message this serializer knows", nameof(o));

    public override byte[] ToBinary(object obj)
    {
        using var buffer = new MemoryStream(128);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            switch (obj)
            {
                case Acquire a:
                    WriteAll(writer, a.Upstream, a.ConnectionId, a.Node);
                    WriteOptional(writer, a.HashKey);
                    WriteList(writer, a.Tried, writer.Write);
                    break;
                case LedgerReport r:
                    WriteAll(writer, r.Upstream, r.Node);
                    WriteList(writer, r.Entries, e => WriteAll(writer, e.ConnectionId, e.Server));
                    writer.Write(r.Complete);
                    writer.Write(r.Pending is not null);
                    if (r.Pending is not null)
                        WriteList(writer, r.Pending, writer.Write);
                    break;
                case NextPick p:
                    writer.Write(p.Upstream);
                    WriteOptional(writer, p.Server);
                    writer.Write(p.Confirm);
                    break;
                case UpstreamSnapshot u:
                    WriteAll(writer, u.Upstream, u.Policy);
                    writer.Write7BitEncodedInt(u.Zombies);
                    WriteList(writer, u.Servers, s => WriteServer(writer, s));
                    break;
                default:
                    // The others are a few strings each, read back in this order by FromBinary.
                    WriteAll(writer, obj switch
                    {
                        Assigned m => [m.ConnectionId, m.Server],
                        NoServerAvailable m => [m.ConnectionId, m.Reason],
                        Release m => [m.Upstream, m.ConnectionId],
                        NextPickTaken m => [m.Upstream, m.ConnectionId, m.Node, m.Server],
                        NextPickConfirmed m => [m.Upstream],
                        ConnectFailed m => [m.Upstream, m.ConnectionId, m.Server],
                        GetUpstreamSnapshot m => [m.Upstream],
                        _ => throw Unknown(obj),
                    });
                    break;
            }
        }

        return buffer.ToArray();
    }

    private static void WriteServer(BinaryWriter writer, ServerSnapshot server)
    {
        writer.Write7BitEncodedInt(server.Id);
        writer.Write(server.Address);
        writer.Write7BitEncodedInt(server.Weight);
        writer.Write7BitEncodedInt(server.Active);
        writer.Write7BitEncodedInt((int)server.State);
        writer.Write(server.Backup);
        writer.Write7BitEncodedInt(server.MaxConns);
        writer.Write(server.Health is not null);
        if (server.Health is not { } health)
            return;
        writer.Write(health.Healthy);
        writer.Write7BitEncodedInt64(health.Checks);
        writer.Write7BitEncodedInt(health.Fails);
        writer.Write(health.LastChecked is not null);
        if (health.LastChecked is { } at)
        {
            writer.Write(at.UtcTicks);
            writer.Write((short)at.Offset.TotalMinutes);
        }

        WriteOptional(writer, health.LastError);
    }

    private static ServerSnapshot ReadServer(BinaryReader reader)
    {
        var id = reader.Read7BitEncodedInt();
        var address = reader.ReadString();
        var weight = reader.Read7BitEncodedInt();
        var active = reader.Read7BitEncodedInt();
        var state = (ServerState)reader.Read7BitEncodedInt();
        var backup = reader.ReadBoolean();
        var maxConns = reader.Read7BitEncodedInt();
        HealthSnapshot? health = null;
        if (reader.ReadBoolean())
        {
            var healthy = reader.ReadBoolean();
            var checks = reader.Read7BitEncodedInt64();
            var fails = reader.Read7BitEncodedInt();
            DateTimeOffset? lastChecked = null;
            if (reader.ReadBoolean())
            {
                var utcTicks = reader.ReadInt64();
                var offset = TimeSpan.FromMinutes(reader.ReadInt16());
                lastChecked = new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(offset);
            }

            health = new HealthSnapshot(healthy, checks, fails, lastChecked, ReadOptional(reader));
        }

        return new ServerSnapshot(id, address, weight, active, state, backup, maxConns, health);
    }

    private static void WriteAll(BinaryWriter writer, params ReadOnlySpan<string> values)
    {
        foreach (var value in values)
            writer.Write(value);
    }

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
            writer.Write(value);
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private static void WriteList<T>(BinaryWriter writer, IReadOnlyList<T> items, Action<T> write)
    {
        writer.Write7BitEncodedInt(items.Count);
        foreach (var item in items)
            write(item);
    }

    private static T[] ReadList<T>(BinaryReader reader, Func<BinaryReader, T> read)
    {
        var items = new T[reader.Read7BitEncodedInt()];
        for (var i = 0; i < items.Length; i++)
            items[i] = read(reader);
        return items;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        switch (manifest)
        {
            case AcquireManifest:
            {
                var upstream = reader.ReadString();
                var connectionId = reader.ReadString();
                var node = reader.ReadString();
                var hashKey = ReadOptional(reader);
                return new Acquire(upstream, connectionId, node, hashKey, ReadList(reader, r => r.ReadString()));
            }
            case LedgerReportManifest:
            {
                var upstream = reader.ReadString();
                var node = reader.ReadString();
                var entries = ReadList(reader, r => new LedgerEntry(r.ReadString(), r.ReadString()));
                var complete = reader.ReadBoolean();
                var pending = reader.ReadBoolean() ? ReadList(reader, r => r.ReadString()) : null;
                return new LedgerReport(upstream, node, entries, complete, pending);
            }
            case SnapshotManifest:
            {
                var upstream = reader.ReadString();
                var policy = reader.ReadString();
                var zombies = reader.Read7BitEncodedInt();
                return new UpstreamSnapshot(upstream, policy, ReadList(reader, ReadServer), zombies);
            }
            case AssignedManifest:
                return new Assigned(reader.ReadString(), reader.ReadString());
            case NoServerManifest:
                return new NoServerAvailable(reader.ReadString(), reader.ReadString());
            case ReleaseManifest:
                return new Release(reader.ReadString(), reader.ReadString());
            case NextPickManifest:
                return new NextPick(reader.ReadString(), ReadOptional(reader), reader.ReadBoolean());
            case NextPickConfirmedManifest:
                return new NextPickConfirmed(reader.ReadString());
            case NextPickTakenManifest:
                return new NextPickTaken(reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadString());
            case ConnectFailedManifest:
                return new ConnectFailed(reader.ReadString(), reader.ReadString(), reader.ReadString());
            case GetSnapshotManifest:
                return new GetUpstreamSnapshot(reader.ReadString());
            default:
                throw new SerializationException($"unknown balancer message manifest \"{manifest}\"");
        }
    }
}
