using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace StreamLb.Balancing.Membership;

/// <summary>
/// Runtime membership in Distributed Data: one <see cref="LWWDictionary{TKey,TValue}"/> of specs per upstream, keyed by
/// server address. Chosen over persistence because it needs no database: the specs are small, every node holds a
/// replica, and writes go to a majority before they are acknowledged, so they survive the balancer moving and the
/// loss of any one node. The balancer is the only writer of its upstream's key, so last-writer-wins never has to
/// settle a real conflict.
/// </summary>
public sealed class ReplicatedMembershipStore(TimeSpan timeout) : IMembershipStore
{
    public Props Props(string upstream) => Akka.Actor.Props.Create(() => new StoreActor(upstream, timeout));

    public static LWWDictionaryKey<string, ServerSpec> KeyOf(string upstream) => new($"upstream-members:{upstream}");

    private sealed class StoreActor : ReceiveActor
    {
        private readonly LWWDictionaryKey<string, ServerSpec> _key;
        private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
        private readonly Cluster _self = Cluster.Get(Context.System);

        public StoreActor(string upstream, TimeSpan timeout)
        {
            _key = KeyOf(upstream);
            Receive<SaveSpec>(save => _replicator.Tell(Dsl.Update(
                _key, LWWDictionary<string, ServerSpec>.Empty, new WriteMajority(timeout), save,
                current => current.SetItem(_self, save.Spec.Address, save.Spec))));
            Receive<UpdateSuccess>(success => _replicator.Tell(Dsl.Get(_key, ReadLocal.Instance, success.Request)));
            Receive<IUpdateFailure>(failure => Context.Parent.Tell(new SpecNotSaved((SaveSpec)failure.Request!,
                failure is UpdateTimeout ? "not replicated to a majority of the nodes in time" : failure.GetType().Name)));

            // A new incarnation reads from a majority, so it sees every acknowledged change; failing that, its own replica.
            Receive<GetSuccess>(success =>
            {
                Context.Parent.Tell(new MembershipLoaded(Specs(success.Get(_key))));
                if (success.Request is SaveSpec save)
                    Context.Parent.Tell(new SpecSaved(save));
            });
            Receive<NotFound>(_ => Context.Parent.Tell(new MembershipLoaded([])));
            Receive<GetFailure>(_ => _replicator.Tell(Dsl.Get(_key, ReadLocal.Instance)));
            Receive<Changed>(changed => Context.Parent.Tell(new MembershipLoaded(Specs(changed.Get(_key)))));

            _replicator.Tell(Dsl.Subscribe(_key, Self));
            _replicator.Tell(Dsl.Get(_key, new ReadMajority(timeout)));
        }

        protected override void PostStop() => _replicator.Tell(Dsl.Unsubscribe(_key, Self));

        private static IReadOnlyList<ServerSpec> Specs(LWWDictionary<string, ServerSpec> data) => data.Entries.Values.ToList();
    }
}
