using Akka.Actor;

namespace StreamLb.Connections;

/// <summary>Where the nodes' connection ledgers are, for a balancer that must ask them to re-report or close connections.</summary>
public interface ILedgerDirectory
{
    /// <summary>Every node's ledger.</summary>
    IReadOnlyList<ICanTell> Ledgers(IActorContext context);

    /// <summary>The ledger of the node named <paramref name="node"/> (as in <c>Acquire.Node</c>).</summary>
    ICanTell LedgerOf(IActorContext context, string node);
}
