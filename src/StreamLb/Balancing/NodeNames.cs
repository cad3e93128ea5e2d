using Akka.Cluster;

namespace StreamLb.Balancing;

/// <summary>A cluster node's name in connection ids, assignments and ledger reports: address and incarnation.</summary>
public static class NodeNames
{
    // The uid tells a restarted node at the same address from its previous incarnation.
    public static string Of(UniqueAddress node) => $"{node.Address}#{node.Uid}";
}
