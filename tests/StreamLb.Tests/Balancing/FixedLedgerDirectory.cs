using Akka.Actor;
using StreamLb.Connections;

namespace StreamLb.Tests.Balancing;

/// <summary>Ledgers at given paths of the same system, e.g. two standing for two nodes, or none at all.</summary>
internal sealed class FixedLedgerDirectory(params string[] paths) : ILedgerDirectory
{
    public IReadOnlyList<ICanTell> Ledgers(IActorContext context) => paths.Select(context.ActorSelection).ToList();

    /// <summary>Node names are the ledgers' paths here.</summary>
    public ICanTell LedgerOf(IActorContext context, string node) => context.ActorSelection(node);
}
