using System.Net.Sockets;
using Akka.TestKit.Xunit2;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>A client that stops reading stalls the backend's writes: the node does not buffer without bound.</summary>
public sealed class BackpressureTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output)
{
    private const int Chunk = 1024 * 1024;
    private const long Limit = 512L * Chunk;

    [Fact]
    public async Task A_client_that_stops_reading_stalls_the_backend_instead_of_filling_the_node()
    {
        // The backend writes as fast as it can, up to 512 MiB; a write that cannot finish within the stall bound
        // means backpressure reached it through the node.
        var stalledAt = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var chunk = new byte[Chunk];
            long written = 0;
            while (written < Limit)
            {
                using var stall = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                try
                {
                    await socket.SendAsync(chunk, SocketFlags.None, stall.Token);
                }
                catch (OperationCanceledException)
                {
                    stalledAt.TrySetResult(written);
                    return;
                }

                written += Chunk;
            }

            stalledAt.TrySetResult(written);
        });
        var node = await NodeHarness.StartAsync(this, $$"""
            stream {
                upstream backend { server 127.0.0.1:{{backend.Port}}; }
                server {
                    listen 127.0.0.1:0 ssl;
                    ssl_certificate {cert};
                    ssl_certificate_key {key};
                    proxy_pass backend;
                }
            }
            """);

        var (socket, _) = await RawBackend.ConnectTlsAsync(node.Port());
        var written = await stalledAt.Task.WaitAsync(TimeSpan.FromMinutes(2));

        // Kernel socket buffers on both legs plus one element per stage; far below what was on offer.
        Assert.True(written < 64L * Chunk, $"the backend wrote {written / Chunk} MiB into a client that reads nothing");
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();
        await node.AssertDrainedAsync();
    }
}
