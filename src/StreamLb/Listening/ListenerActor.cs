using System.Net;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;
using StreamLb.Connections;
using Tcp = Akka.Streams.Dsl.Tcp;

namespace StreamLb.Listening;

/// <summary>
/// Owns one bound socket (<c>listen</c>): accepts connections one at a time through an acknowledged sink and makes
/// each the child of this actor. A failing connection actor is stopped, never restarted, and touches no other.
/// </summary>
public sealed class ListenerActor : ReceiveActor
{
    private const int Backlog = 511;
    private readonly ListenerSettings _settings;
    private readonly Func<long> _nextConnectionNumber;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _bindingWaiters = [];
    private IMaterializer? _materializer;
    private int _connections;
    private Tcp.ServerBinding? _binding;

    public ListenerActor(ListenerSettings settings, Func<long> nextConnectionNumber)
    {
        _settings = settings;
        _nextConnectionNumber = nextConnectionNumber;

        Receive<Tcp.ServerBinding>(binding =>
        {
            _binding = binding;
            _log.Info("listening on {0}{1} for upstream \"{2}\"", binding.LocalAddress, settings.Tls is null ? "" : " (ssl)", settings.Server.ProxyPass);
            foreach (var waiter in _bindingWaiters)
                waiter.Tell(new Bound(binding.LocalAddress));
            _bindingWaiters.Clear();
        });
        Receive<BindFailed>(failed =>
        {
            _log.Error(failed.Error, "cannot listen on {0}: {1}", settings.Listen, failed.Error.Message);
            foreach (var waiter in _bindingWaiters)
                waiter.Tell(new Status.Failure(failed.Error));
            _bindingWaiters.Clear();
            throw new InvalidOperationException($"cannot listen on {settings.Listen}: {failed.Error.Message}", failed.Error);
        });
        Receive<StreamInit>(_ => Sender.Tell(Ack.Instance));
        Receive<Tcp.IncomingConnection>(connection =>
        {
            var id = $"{settings.Node}#{_nextConnectionNumber()}";
            Context.Watch(Context.ActorOf(ConnectionActor.Props(settings, connection, id, _materializer!), $"c{id[(id.LastIndexOf('#') + 1)..]}"));
            _connections++;
            Sender.Tell(Ack.Instance);
        });
        Receive<AcceptStopped>(_ => _log.Info("stopped accepting on {0}", settings.Listen));
        Receive<GetBinding>(_ =>
        {
            if (_binding is { } bound)
                Sender.Tell(new Bound(bound.LocalAddress));
            else
                _bindingWaiters.Add(Sender);
        });
        Receive<Terminated>(_ => _connections--);
        Receive<GetConnectionCount>(_ => Sender.Tell(_connections));
    }

    public static Props Props(ListenerSettings settings, Func<long> nextConnectionNumber) =>
        Akka.Actor.Props.Create(() => new ListenerActor(settings, nextConnectionNumber));

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(e =>
        {
            _log.Error(e, "a connection actor failed and was stopped: {0}", e.Message);
            return Directive.Stop;
        });

    protected override void PreStart()
    {
        _materializer = Context.Materializer();
        var listen = _settings.Listen;
        var binding = Context.System.TcpStream()
            .Bind(listen.Host, listen.Port, Backlog, halfClose: true)
            .To(Sink.ActorRefWithAck<Tcp.IncomingConnection>(Self, StreamInit.Instance, Ack.Instance, AcceptStopped.Instance, e => new BindFailed(e)))
            .Run(_materializer);
        binding.PipeTo(Self, failure: e => new BindFailed(e));
    }

    protected override void PostStop() => _binding?.Unbind();

    /// <summary>Asks for the bound address; answered with <see cref="Bound"/> once bound.</summary>
    public sealed class GetBinding
    {
        public static readonly GetBinding Instance = new();
    }

    public sealed record Bound(EndPoint LocalAddress);

    /// <summary>Asks for the number of live connection actors; answered with an int.</summary>
    public sealed class GetConnectionCount
    {
        public static readonly GetConnectionCount Instance = new();
    }

    private sealed record BindFailed(Exception Error);

    private sealed class StreamInit
    {
        public static readonly StreamInit Instance = new();
    }

    private sealed class Ack
    {
        public static readonly Ack Instance = new();
    }

    private sealed class AcceptStopped
    {
        public static readonly AcceptStopped Instance = new();
    }
}
