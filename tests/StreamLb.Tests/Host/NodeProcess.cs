using System.Diagnostics;
using System.Threading.Channels;

namespace StreamLb.Tests.Host;

/// <summary>
/// A real <c>streamlb</c> process (the built host), its output read line by line so tests can wait for what it
/// logs. Disposing stops it: SIGTERM first, then a kill if it does not exit.
/// </summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];

    private NodeProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Write(e.Data);
        _process.ErrorDataReceived += (_, e) => Write(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Every line printed so far, standard output and error together.</summary>
    public string Output
    {
        get
        {
            lock (_seen)
                return string.Join('\n', _seen);
        }
    }

    public static NodeProcess Start(string workingDirectory, params string[] args)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "StreamLb.Host.dll");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(host);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        return new NodeProcess(Process.Start(info)!);
    }

    /// <summary>Waits for a line containing <paramref name="text"/>; fails with the output so far if the process exits first.</summary>
    public async Task<string> WaitForLine(string text, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(cancel.Token))
            {
                if (line.Contains(text, StringComparison.Ordinal))
                    return line;
            }
        }
        catch (OperationCanceledException)
        {
        }

        throw new TimeoutException($"no line containing \"{text}\" within {timeout}; output:\n{Output}");
    }

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            _lines.Writer.TryComplete();
            return;
        }

        lock (_seen)
            _seen.Add(line);
        _lines.Writer.TryWrite(line);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString()])?.WaitForExit();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
