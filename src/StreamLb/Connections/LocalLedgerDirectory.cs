using Akka.Actor;

namespace StreamLb.Connections;

/// <summary>A single node: the one ledger is this actor system's <c>/user/ledger</c>.</summary>
public sealed class LocalLedgerDirectory : ILedgerDirectory
{
    public IReadOnlyList<ICanTell> Ledgers(IActorContext context) => [LedgerOf(context, "")];

    public ICanTell LedgerOf(IActorContext context, string node) => context.ActorSelection($"/user/{ConnectionLedger.Name}");
}
