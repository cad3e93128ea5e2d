using Akka.Actor;
using StreamLb.Connections;

namespace StreamLb.Clustering;

/// <summary>In a cluster every member has a ledger at <c>/user/ledger</c>; a node's name starts with its address.</summary>
public sealed class ClusterLedgerDirectory : ILedgerDirectory
{
    public IReadOnlyList<ICanTell> Ledgers(IActorContext context) =>
        Akka.Cluster.Cluster.Get(context.System).State.Members
            .Where(m => m.Status is Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.WeaklyUp or Akka.Cluster.MemberStatus.Joining)
            .Select(m => (ICanTell)context.ActorSelection($"{m.Address}/user/{ConnectionLedger.Name}"))
            .ToList();

    public ICanTell LedgerOf(IActorContext context, string node)
    {
        var hash = node.LastIndexOf('#');
        return context.ActorSelection($"{(hash < 0 ? node : node[..hash])}/user/{ConnectionLedger.Name}");
    }
}
