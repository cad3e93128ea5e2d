using Akka.Actor;
using StreamLb.Connections;

namespace StreamLb.Tests.Balancing;

/// <summary>Ledgers given up front, e.g. two ledgers standing for two nodes, or none at all.</summary>
internal sealed class FixedLedgerDirectory(params IActorRef[] ledgers) : ILedgerDirectory
{
    public IReadOnlyList<ICanTell> Ledgers(IActorContext context) => ledgers;
}
