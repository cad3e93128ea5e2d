using Akka.Actor;

namespace StreamLb.Balancing.Membership;

/// <summary>The replicated specs of an upstream, sent to the balancer at start and on every change.</summary>
public sealed record MembershipLoaded(IReadOnlyList<ServerSpec> Specs);

/// <summary>Asks the store to replicate <paramref name="Spec"/>; answered with <see cref="SpecSaved"/> or <see cref="SpecNotSaved"/>.</summary>
public sealed record SaveSpec(ServerSpec Spec, IActorRef ReplyTo, object Reply);

public sealed record SpecSaved(SaveSpec Request);

public sealed record SpecNotSaved(SaveSpec Request, string Reason);
