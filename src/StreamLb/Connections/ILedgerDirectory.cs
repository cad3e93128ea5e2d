using Akka.Actor;

namespace StreamLb.Connections;

/// <summary>Where the connection ledgers are that a (new) balancer incarnation asks to re-report live connections.</summary>
public interface ILedgerDirectory
{
    IReadOnlyList<ICanTell> Ledgers(IActorContext context);
}
