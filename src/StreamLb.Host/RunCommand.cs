using System.Net;
using System.Runtime.InteropServices;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamLb.Configuration;
using StreamLb.EchoBackend;
using StreamLb.Clustering;
using StreamLb.Host.Admin;
using StreamLb.Hosting;
using StreamLb.Tls;

namespace StreamLb.Host;

/// <summary><c>streamlb run</c>: load and check the config, then run the node until SIGTERM or Ctrl+C.</summary>
public static class RunCommand
{
    /// <summary>How long the listeners may take to bind once the node starts them.</summary>
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What the stop's connections step may take beyond <c>--shutdown-timeout</c>: closing those left.</summary>
    private static readonly TimeSpan ShutdownStepSlack = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(CommandLine commandLine)
    {
        using var loggerFactory = LoggerFactory.Create(ConfigureLogging);
        var log = loggerFactory.CreateLogger("streamlb");

        var configFile = ResolveConfigFile(commandLine.ConfigFile);
        var loaded = ConfigLoader.Load(configFile);
        if (loaded.Config is not { } config)
            return Fail(loaded.Errors);

        foreach (var tls in config.Servers.Select(s => s.Tls).OfType<TlsConfig>().DistinctBy(t => t.CertificatePath))
        {
            if (File.Exists(tls.CertificatePath) || File.Exists(tls.KeyPath))
                continue;
            DevelopmentCertificate.Write(tls.CertificatePath, tls.KeyPath);
            log.LogWarning("*** {Cert} and {Key} did not exist: generated a SELF-SIGNED DEVELOPMENT certificate for localhost there. " +
                           "Clients will not trust it; configure a real certificate for anything but development. ***", tls.CertificatePath, tls.KeyPath);
        }

        if (CertificateChecks.Check(config) is { Count: > 0 } certificateErrors)
            return Fail(certificateErrors);

        var backends = commandLine.Demo ? await StartDemoBackends(config, loggerFactory, log).ConfigureAwait(false) : [];
        try
        {
            // No default configuration sources: the config file is the node's only configuration, and the default
            // appsettings source would watch the working folder (recursively) for changes, waking the process for
            // every file written anywhere under it.
            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(ConfigureConsole);
            builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
            builder.Logging.SetMinimumLevel(commandLine.LogLevel);
            var cluster = new ClusterOptions
            {
                Host = commandLine.ClusterHost, Port = commandLine.ClusterPort, Seeds = commandLine.Seeds, StableAfter = commandLine.StableAfter,
            };
            var nodeOptions = new NodeOptions
            {
                DrainTimeout = commandLine.DrainTimeout, ShutdownTimeout = commandLine.ShutdownTimeout, MaxConnections = commandLine.MaxConnections,
                TlsEngine = commandLine.TlsEngine,
            };
            var running = new RunningNode();
            builder.Services.AddSingleton(running);
            builder.Services.AddAkka(ClusterOptions.SystemName, akka => akka
                .AddHocon(ClusterBootstrap.ConfigFor(cluster), HoconAddMode.Prepend)
                .AddHocon($"akka.loglevel = {AkkaLogLevel(commandLine.LogLevel)}", HoconAddMode.Prepend)
                // The step of a stop in which the node lets its connections end (StreamLbNode) may take the option's time.
                .AddHocon($"akka.coordinated-shutdown.phases.service-requests-done.timeout = {(long)(commandLine.ShutdownTimeout + ShutdownStepSlack).TotalMilliseconds}ms",
                    HoconAddMode.Prepend)
                .ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                })
                .WithActors((system, _) =>
                {
                    running.Node = StreamLbNode.Start(system, config, nodeOptions);
                    ClusterBootstrap.Join(system, cluster);
                }));
            if (commandLine.Admin is { } admin)
                builder.Services.AddHostedService(sp => new AdminService(running, new AdminOptions { EndPoint = admin, Token = commandLine.AdminToken }, log));
            using var host = builder.Build();
            log.LogInformation("config {File} loaded: {Servers} server block(s), {Upstreams} upstream(s); cluster {Host}:{Port}, seeds [{Seeds}]",
                configFile, config.Servers.Count, config.Upstreams.Count, cluster.Host, cluster.Port, string.Join(", ", cluster.Seeds));
            try
            {
                await host.StartAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The cluster's or the admin API's address in use, say: said in one line, and the program fails, as
                // for a listen.
                log.LogCritical("not starting: {Reason}", WhyNotStarted(e));
                await host.StopAsync().ConfigureAwait(false);
                return 1;
            }

            // As nginx does, a node that cannot listen on every address of its config does not run without it: the
            // listener has logged why (the address in use, say); the node stops and the program fails.
            if (!await Listening(running, log).ConfigureAwait(false))
            {
                await host.StopAsync().ConfigureAwait(false);
                return 1;
            }

            using var hangUp = IgnoreHangUp(log);
            await host.WaitForShutdownAsync().ConfigureAwait(false);
            return 0;
        }
        finally
        {
            foreach (var backend in backends)
                await backend.DisposeAsync().ConfigureAwait(false);
        }

        int Fail(IReadOnlyList<ConfigError> errors)
        {
            foreach (var error in errors)
                Console.Error.WriteLine(error);
            return 1;
        }
    }

    /// <summary>
    /// What a failed start comes down to, in one line: the first error that is not a wrapper of others, and the
    /// system's own words under it when they add something ("address already in use").
    /// </summary>
    private static string WhyNotStarted(Exception error)
    {
        while (error is AggregateException { InnerExceptions.Count: 1 } one)
            error = one.InnerExceptions[0];
        var cause = error.GetBaseException();
        var what = error.Message.Replace(" See InnerException for details.", "", StringComparison.Ordinal).TrimEnd('.');
        return ReferenceEquals(cause, error) || what.Contains(cause.Message, StringComparison.OrdinalIgnoreCase) ? what : $"{what}: {cause.Message}";
    }

    /// <summary>
    /// SIGHUP would end the process on the spot (the signal's default): no stop, no leaving the cluster, every connection
    /// cut. nginx reads its config again on SIGHUP, and tools send it for a reload; a node reads its config once, so it
    /// says so and goes on.
    /// </summary>
    private static PosixSignalRegistration IgnoreHangUp(ILogger log) =>
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            log.LogWarning("SIGHUP ignored: the config is read once, at start; change upstreams at runtime through the admin API, " +
                           "or restart the node (SIGTERM) to read its config again");
        });

    /// <summary>The default config is looked up from the working folder and then from the folders above the program.</summary>
    private static string ResolveConfigFile(string? configFile)
    {
        if (configFile is not null || File.Exists(CommandLine.DefaultConfig))
            return configFile ?? CommandLine.DefaultConfig;
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, CommandLine.DefaultConfig);
            if (File.Exists(candidate))
                return candidate;
        }

        return CommandLine.DefaultConfig;
    }

    /// <summary>Whether every listener of the node is bound; the node listens once its balancers answered (bounded).</summary>
    private static async Task<bool> Listening(RunningNode running, ILogger log)
    {
        var node = running.Node!;
        try
        {
            await node.WhenBound(node.Options.WarmUpTimeout + ListenTimeout).ConfigureAwait(false);
            return true;
        }
        catch (Exception e)
        {
            log.LogCritical("not listening: {Reason}; stopping", e.Message);
            return false;
        }
    }

    private static async Task<List<EchoServer>> StartDemoBackends(StreamConfig config, ILoggerFactory loggerFactory, ILogger log)
    {
        var backends = new List<EchoServer>();
        foreach (var server in config.Upstreams.SelectMany(u => u.Servers).DistinctBy(s => s.Address))
        {
            if (Connections.UpstreamAddress.Parse(server.Address) is not IPEndPoint { } endPoint || !IPAddress.IsLoopback(endPoint.Address))
                continue;
            var backend = await EchoServer.StartAsync(endPoint.Address.ToString(), endPoint.Port, $"demo-echo-{endPoint.Port}", loggerFactory).ConfigureAwait(false);
            log.LogInformation("--demo: echo backend listening on ws://{EndPoint}", backend.EndPoint);
            backends.Add(backend);
        }

        return backends;
    }

    private static string AkkaLogLevel(LogLevel level) => level switch
    {
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARNING",
        _ => "ERROR",
    };

    private static void ConfigureLogging(ILoggingBuilder logging) => logging.AddSimpleConsole(ConfigureConsole);

    private static void ConfigureConsole(Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions options)
    {
        options.SingleLine = true;
        options.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
        options.UseUtcTimestamp = true;
    }
}
