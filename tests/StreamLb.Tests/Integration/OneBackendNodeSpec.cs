using Akka.TestKit.Xunit2;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>Each test gets a node with one TLS listener in front of one echo backend; subclasses add server directives.</summary>
public abstract class OneBackendNodeSpec(ITestOutputHelper output, string serverExtra = "") : TestKit(NodeHocon.Default, output), IAsyncLifetime
{
    protected EchoServer Echo { get; private set; } = null!;

    internal NodeHarness Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Echo = await EchoServer.StartAsync("127.0.0.1", 0);
        Node = await NodeHarness.StartAsync(this, TestConfigs.Tls([Echo], method: "", serverExtra: serverExtra));
    }

    public async Task DisposeAsync() => await Echo.DisposeAsync();
}
