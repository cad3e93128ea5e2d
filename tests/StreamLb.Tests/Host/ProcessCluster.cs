using System.Net;
using System.Net.Sockets;
using StreamLb.Tests.Integration;

namespace StreamLb.Tests.Host;

/// <summary>
/// A local cluster as a user runs it: config files in a folder of their own (one upstream file included by every
/// node's file), echo backends and <c>streamlb</c> nodes as real processes, every port on loopback and picked free at
/// start. The first node lists itself as the seed and starts first; the others join it. Disposing stops everything.
/// </summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    private readonly DirectoryInfo _folder;

    private ProcessCluster(DirectoryInfo folder) => _folder = folder;

    public List<ClusterNode> Nodes { get; } = [];

    /// <summary>The backends named in the upstream file first, then the spare ones (started, not configured).</summary>
    public List<EchoProcess> Backends { get; } = [];

    /// <summary>Every process's output, for a failure report.</summary>
    public string Outputs =>
        string.Join("\n\n", Nodes.Where(n => n.Process is not null).Select(n => $"===== node {n.Name} =====\n{n.Process.Output}")
            .Concat(Backends.Select(b => $"===== {b.Name} =====\n{b.Output}")));

    /// <summary>
    /// Starts <paramref name="configured"/> + <paramref name="spare"/> echo backends and the nodes named by
    /// <paramref name="nodeNames"/>; the upstream <c>backend</c> (least_conn) lists the configured backends.
    /// </summary>
    public static async Task<ProcessCluster> StartAsync(string[] nodeNames, int configured, int spare, TimeSpan startup)
    {
        var cluster = new ProcessCluster(Directory.CreateTempSubdirectory("streamlb-procs-"));
        try
        {
            await cluster.Start(nodeNames, configured, spare, startup);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task Start(string[] nodeNames, int configured, int spare, TimeSpan startup)
    {
        var ports = FreePorts(configured + spare + 3 * nodeNames.Length);
        var next = 0;
        var starting = Enumerable.Range(1, configured + spare).Select(i => EchoProcess.StartAsync(ports[next++], $"echo-{i}", startup)).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            // Every start has ended here: keep the ones that run, so that disposing stops them.
            Backends.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        }

        File.WriteAllText(Path.Combine(_folder.FullName, "upstreams.conf"), $$"""
            # The upstreams every node shares: each node's file includes this one.
            upstream backend {
                least_conn;
            {{string.Join('\n', Backends.Take(configured).Select(b => $"    server {b.Address};"))}}
            }
            """);

        foreach (var name in nodeNames)
        {
            var node = new ClusterNode(name, TlsPort: ports[next++], ClusterPort: ports[next++], AdminPort: ports[next++], Process: null!);
            File.WriteAllText(Path.Combine(_folder.FullName, $"node-{name}.conf"), $$"""
                # Node {{name}}: wss on {{node.TlsPort}}, the shared upstreams.
                stream {
                    include upstreams.conf;

                    server {
                        listen 127.0.0.1:{{node.TlsPort}} ssl;
                        ssl_certificate      "{{TestCertificate.CertificatePath}}";
                        ssl_certificate_key  "{{TestCertificate.KeyPath}}";
                        proxy_connect_timeout 5s;
                        health_check interval=500ms fails=1 passes=1;
                        health_check_timeout 500ms;
                        proxy_pass backend;
                    }
                }
                """);
            Nodes.Add(node);
        }

        // The first node forms the cluster (it is its own seed); the others join it, together.
        var seed = $"127.0.0.1:{Nodes[0].ClusterPort}";
        await StartNode(0, seed, startup);
        await Task.WhenAll(Enumerable.Range(1, Nodes.Count - 1).Select(i => StartNode(i, seed, startup)));
    }

    private async Task StartNode(int index, string seed, TimeSpan startup)
    {
        var node = Nodes[index];
        var process = NodeProcess.Start(_folder.FullName, "run", "-c", Path.Combine(_folder.FullName, $"node-{node.Name}.conf"),
            "--cluster-port", node.ClusterPort.ToString(), "--seed", seed, "--admin", $"127.0.0.1:{node.AdminPort}");
        Nodes[index] = node = node with { Process = process };
        await process.WaitForLine($"listening on 127.0.0.1:{node.TlsPort} (ssl)", startup);
        await process.WaitForLine($"admin API listening on http://127.0.0.1:{node.AdminPort}", startup);
    }

    /// <summary>Ports free right now: bound together on loopback (so all differ), read, and released.</summary>
    private static int[] FreePorts(int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port).ToArray();
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The joiners leave first, together, then the first node on its own: when all leave at once, the last one
        // waits out its whole cluster-exiting phase (10 s) for peers already gone.
        var started = Nodes.Where(n => n.Process is not null).ToList();
        await Task.WhenAll(started.Skip(1).Select(n => n.Process.DisposeAsync().AsTask()));
        await Task.WhenAll(started.Take(1).Select(n => n.Process.DisposeAsync().AsTask()));
        await Task.WhenAll(Backends.Select(b => b.DisposeAsync().AsTask()));
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A folder in the temp folder left behind is no failure.
        }
    }
}

/// <summary>One node of a <see cref="ProcessCluster"/>: its ports and its process.</summary>
internal sealed record ClusterNode(string Name, int TlsPort, int ClusterPort, int AdminPort, NodeProcess Process)
{
    public Uri Admin => new($"http://127.0.0.1:{AdminPort}/api/stream/upstreams/");
}
