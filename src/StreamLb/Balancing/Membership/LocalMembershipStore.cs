using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;

namespace StreamLb.Balancing.Membership;

/// <summary>
/// A single node's membership store: in this process's memory, so changes outlive a restarted balancer but not the
/// node. The cluster uses <see cref="ReplicatedMembershipStore"/>.
/// </summary>
public sealed class LocalMembershipStore : IMembershipStore
{
    private readonly ConcurrentDictionary<string, ImmutableDictionary<string, ServerSpec>> _specs = new();

    public Props Props(string upstream) => Akka.Actor.Props.Create(() => new StoreActor(this, upstream));

    private sealed class StoreActor : ReceiveActor
    {
        public StoreActor(LocalMembershipStore store, string upstream)
        {
            Receive<SaveSpec>(save =>
            {
                var specs = store._specs.AddOrUpdate(upstream,
                    _ => ImmutableDictionary<string, ServerSpec>.Empty.SetItem(save.Spec.Address, save.Spec),
                    (_, current) => current.SetItem(save.Spec.Address, save.Spec));
                Context.Parent.Tell(new MembershipLoaded(specs.Values.ToList()));
                Context.Parent.Tell(new SpecSaved(save));
            });
            var initial = store._specs.TryGetValue(upstream, out var known) ? known.Values.ToList() : [];
            Context.Parent.Tell(new MembershipLoaded(initial));
        }
    }
}
