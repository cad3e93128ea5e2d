using StreamLb.Hosting;

namespace StreamLb.Host;

/// <summary>The node once the actor system has started it; services that start after Akka read it from here.</summary>
public sealed class RunningNode
{
    public StreamLbNode? Node { get; set; }
}
