using System.Collections.Immutable;
using System.Runtime.ExceptionServices;
using System.Text;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using StreamLb.Tls;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Tls;

/// <summary>
/// Both TLS server stages (<see cref="NativeTlsServerStage"/> on OpenSSL, <see cref="TlsServerStage"/> on SslStream)
/// in memory against an <see cref="System.Net.Security.SslStream"/> client: no sockets, no node.
/// </summary>
public sealed class TlsServerStageTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private IMaterializer Materializer => Sys.Materializer();

    private InMemoryTlsConnection<NotUsed> Echo(TlsEngine engine) => InMemoryTlsConnection<NotUsed>.Start(Flow.Create<ByteString>(), Materializer, engine);

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task The_materialized_task_completes_with_what_the_handshake_agreed_on(TlsEngine engine)
    {
        await using var connection = Echo(engine);
        await connection.AuthenticateAsync();

        var session = await connection.Handshake.WaitAsync(Patience);
        Assert.Equal(connection.Client.SslProtocol, session.Protocol);
        Assert.Equal(connection.Client.NegotiatedCipherSuite, session.CipherSuite);
        Assert.Equal("localhost", session.ServerName);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task Each_of_many_small_writes_is_echoed_before_the_next(TlsEngine engine)
    {
        await using var connection = Echo(engine);
        await connection.AuthenticateAsync();

        for (var i = 0; i < 500; i++)
        {
            var message = Encoding.ASCII.GetBytes($"message {i}:" + new string((char)('a' + i % 26), i % 200));
            await connection.Client.WriteAsync(message);
            Assert.Equal(message, await connection.ReadAsync(message.Length).WaitAsync(Patience));
        }
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_MiB_written_in_odd_sized_pieces_comes_back_byte_for_byte(TlsEngine engine)
    {
        await using var connection = Echo(engine);
        await connection.AuthenticateAsync();
        var payload = new byte[1024 * 1024];
        new Random(7).NextBytes(payload);

        var writer = Task.Run(async () =>
        {
            int[] sizes = [1, 7, 333, 4099, 16_385, 65_537];
            for (int offset = 0, i = 0; offset < payload.Length; i++)
            {
                var size = Math.Min(sizes[i % sizes.Length], payload.Length - offset);
                await connection.Client.WriteAsync(payload.AsMemory(offset, size));
                offset += size;
            }
        });
        var echoed = await connection.ReadAsync(payload.Length).WaitAsync(Patience);
        await writer.WaitAsync(Patience);

        Assert.Equal(payload.Length, echoed.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed), "the echo differs from what was written");
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task The_client_close_notify_completes_the_plain_output_while_the_server_goes_on_writing(TlsEngine engine)
    {
        var plain = Flow.FromSinkAndSource(
            Sink.Seq<ByteString>(),
            Source.Queue<ByteString>(4, OverflowStrategy.Backpressure),
            Keep.Both);
        await using var connection = InMemoryTlsConnection<(Task<IImmutableList<ByteString>>, ISourceQueueWithComplete<ByteString>)>.Start(plain, Materializer, engine);
        var (received, toClient) = connection.Plain;
        await connection.AuthenticateAsync();

        await connection.Client.WriteAsync("hello"u8.ToArray());
        await connection.Client.ShutdownAsync();
        var all = await received.WaitAsync(Patience);
        Assert.Equal("hello", string.Concat(all.Select(b => b.ToString())));

        // The other direction is still open: the server writes after the client's close_notify, then closes too.
        Assert.Equal(QueueOfferResult.Enqueued.Instance, await toClient.OfferAsync(ByteString.FromString("still here")));
        Assert.Equal("still here", Encoding.ASCII.GetString(await connection.ReadAsync(10).WaitAsync(Patience)));
        toClient.Complete();
        Assert.Empty(await connection.ReadAsync(1).WaitAsync(Patience));
        await connection.CipherOutDone.WaitAsync(Patience);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_client_FIN_without_close_notify_completes_the_plain_output(TlsEngine engine)
    {
        var plain = Flow.FromSinkAndSource(Sink.Seq<ByteString>(), Source.Never<ByteString>(), Keep.Left);
        await using var connection = InMemoryTlsConnection<Task<IImmutableList<ByteString>>>.Start(plain, Materializer, engine);
        await connection.AuthenticateAsync();

        await connection.Client.WriteAsync("cut short"u8.ToArray());
        connection.CloseSending();

        var all = await connection.Plain.WaitAsync(Patience);
        Assert.Equal("cut short", string.Concat(all.Select(b => b.ToString())));
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task Completing_the_plain_input_sends_close_notify_after_the_last_data_and_ends_the_cipher_output(TlsEngine engine)
    {
        var plain = Flow.FromSinkAndSource(
            Sink.Seq<ByteString>(),
            Source.From([ByteString.FromString("last "), ByteString.FromString("words")]),
            Keep.Left);
        await using var connection = InMemoryTlsConnection<Task<IImmutableList<ByteString>>>.Start(plain, Materializer, engine);
        await connection.AuthenticateAsync();

        Assert.Equal("last words", Encoding.ASCII.GetString(await connection.ReadAsync(10).WaitAsync(Patience)));
        // close_notify: the client's read ends cleanly (a FIN without it would throw), and the server's FIN follows.
        Assert.Empty(await connection.ReadAsync(1).WaitAsync(Patience));
        await connection.CipherOutDone.WaitAsync(Patience);

        // The client may still write; its close_notify then ends the server's plain output as well.
        await connection.Client.WriteAsync("ok"u8.ToArray());
        await connection.Client.ShutdownAsync();
        var all = await connection.Plain.WaitAsync(Patience);
        Assert.Equal("ok", string.Concat(all.Select(b => b.ToString())));
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_client_that_does_not_speak_tls_fails_the_handshake_and_the_stage(TlsEngine engine)
    {
        await using var connection = Echo(engine);

        await connection.SendRawAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.Handshake.WaitAsync(Patience));
        Assert.IsNotType<TimeoutException>(error);
        Assert.NotEqual("the TLS stage stopped", error.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => connection.CipherOutDone.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_stage_that_stops_with_a_read_pending_throws_nothing_through_SslStream()
    {
        // Counts what is thrown through SslStream's frames with the stage's stop as its reason, from anywhere in the
        // process: after the fix nothing is (the pending read and any later one end as at the end of the stream).
        var thrown = 0;
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (e.Exception is IOException { Message: "the TLS stage stopped" } && e.Exception.StackTrace?.Contains("SslStream", StringComparison.Ordinal) == true)
                Interlocked.Increment(ref thrown);
        }

        var plain = Flow.Create<ByteString>().ViaMaterialized(KillSwitches.Single<ByteString>(), Keep.Right);
        await using var connection = InMemoryTlsConnection<UniqueKillSwitch>.Start(plain, Materializer, TlsEngine.SslStream);
        await connection.AuthenticateAsync();
        await connection.Handshake.WaitAsync(Patience); // the stage now waits for the client's next record
        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            connection.Plain.Abort(new InvalidOperationException("cut"));
            // The stage failed: it ran its PostStop before its failure reached the cipher output's end.
            await Assert.ThrowsAnyAsync<Exception>(() => connection.CipherOutDone.WaitAsync(Patience));
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.Equal(0, thrown);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_client_that_leaves_during_the_handshake_fails_the_materialized_task(TlsEngine engine)
    {
        await using var connection = Echo(engine);

        connection.CloseSending();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.Handshake.WaitAsync(Patience));
        Assert.IsNotType<TimeoutException>(error);
    }
}
