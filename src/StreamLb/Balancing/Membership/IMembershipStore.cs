using Akka.Actor;

namespace StreamLb.Balancing.Membership;

/// <summary>
/// Where an upstream's runtime membership lives. The store is a child actor of the balancer: it sends
/// <see cref="MembershipLoaded"/> once at start and again on every change, and answers <see cref="SaveSpec"/>.
/// </summary>
public interface IMembershipStore
{
    Props Props(string upstream);
}
