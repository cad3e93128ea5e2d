using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using StreamLb.Balancing;

namespace StreamLb.Clustering;

/// <summary>
/// The messages of a pick and of a connection's end, as they cross the cluster: a few length-prefixed strings each,
/// instead of JSON with type names. A pick asked of a balancer on another node pays for them twice on its way.
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
            "StreamLb.Balancing.ConnectFailed, StreamLb" = streamlb-balancer
          }
        }
        """;

    private const string AcquireManifest = "A";
    private const string AssignedManifest = "S";
    private const string NoServerManifest = "N";
    private const string ReleaseManifest = "R";
    private const string ConnectFailedManifest = "F";

    public override int Identifier => 7411;

    public override string Manifest(object o) => o switch
    {
        Acquire => AcquireManifest,
        Assigned => AssignedManifest,
        NoServerAvailable => NoServerManifest,
        Release => ReleaseManifest,
        ConnectFailed => ConnectFailedManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a balancer message this serializer knows", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        using var buffer = new MemoryStream(128);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            if (obj is Acquire a)
            {
                WriteAll(writer, a.Upstream, a.ConnectionId, a.Node);
                writer.Write(a.HashKey is not null);
                if (a.HashKey is not null)
                    writer.Write(a.HashKey);
                writer.Write7BitEncodedInt(a.Tried.Count);
                foreach (var server in a.Tried)
                    writer.Write(server);
            }
            else
            {
                // The others are a few strings each, read back in this order by FromBinary.
                WriteAll(writer, obj switch
                {
                    Assigned m => [m.ConnectionId, m.Server],
                    NoServerAvailable m => [m.ConnectionId, m.Reason],
                    Release m => [m.Upstream, m.ConnectionId],
                    ConnectFailed m => [m.Upstream, m.ConnectionId, m.Server],
                    _ => throw new ArgumentException($"{obj.GetType()} is not a balancer message this serializer knows", nameof(obj)),
                });
            }
        }

        return buffer.ToArray();
    }

    private static void WriteAll(BinaryWriter writer, params ReadOnlySpan<string> values)
    {
        foreach (var value in values)
            writer.Write(value);
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
                var hashKey = reader.ReadBoolean() ? reader.ReadString() : null;
                var tried = new string[reader.Read7BitEncodedInt()];
                for (var i = 0; i < tried.Length; i++)
                    tried[i] = reader.ReadString();
                return new Acquire(upstream, connectionId, node, hashKey, tried);
            }
            case AssignedManifest:
                return new Assigned(reader.ReadString(), reader.ReadString());
            case NoServerManifest:
                return new NoServerAvailable(reader.ReadString(), reader.ReadString());
            case ReleaseManifest:
                return new Release(reader.ReadString(), reader.ReadString());
            case ConnectFailedManifest:
                return new ConnectFailed(reader.ReadString(), reader.ReadString(), reader.ReadString());
            default:
                throw new SerializationException($"unknown balancer message manifest \"{manifest}\"");
        }
    }
}
