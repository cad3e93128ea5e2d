using System.Diagnostics;

namespace StreamLb.Tests.Host;

/// <summary>
/// A real program of the solution run as its own process (by default the built <c>streamlb</c> host), its output kept
/// line by line so tests can wait for what it logs. Disposing stops it: SIGTERM first, then a kill if it does not exit.
/// </summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _seen = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;

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

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the <c>streamlb</c> host with <paramref name="args"/>.</summary>
    public static NodeProcess Start(string workingDirectory, params string[] args) => StartProgram("StreamLb.Host.dll", workingDirectory, args);

    /// <summary>Starts <paramref name="dll"/>, a program built into the test output folder, with <paramref name="args"/>.</summary>
    public static NodeProcess StartProgram(string dll, string workingDirectory, params string[] args) =>
        StartProgram(dll, workingDirectory, openFileLimit: null, args);

    /// <summary>Starts the <c>streamlb</c> host as <see cref="Start"/> does, with its open-file limit (ulimit -n) at <paramref name="openFileLimit"/>.</summary>
    public static NodeProcess StartWithOpenFileLimit(int openFileLimit, string workingDirectory, params string[] args) =>
        StartProgram("StreamLb.Host.dll", workingDirectory, openFileLimit, args);

    private static NodeProcess StartProgram(string dll, string workingDirectory, int? openFileLimit, string[] args)
    {
        var program = Path.Combine(AppContext.BaseDirectory, dll);
        // With a limit, through a shell that sets it and then becomes the program (exec: the pid stays the program's).
        var info = openFileLimit is { } limit
            ? new ProcessStartInfo("bash") { ArgumentList = { "-c", $"ulimit -n {limit} && exec dotnet \"$@\"", "dotnet" } }
            : new ProcessStartInfo("dotnet");
        info.WorkingDirectory = workingDirectory;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        // No debugger or diagnostics pipes: a process that a test kills would leave them behind in the temp folder.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        info.ArgumentList.Add(program);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        return new NodeProcess(Process.Start(info)!);
    }

    /// <summary>
    /// Waits for a line containing <paramref name="text"/>, counting the lines printed before the call too; fails with
    /// the output so far if the process ends its output first or the time runs out.
    /// </summary>
    public async Task<string> WaitForLine(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var next = 0;
        while (true)
        {
            Task changed;
            lock (_seen)
            {
                for (; next < _seen.Count; next++)
                {
                    if (_seen[next].Contains(text, StringComparison.Ordinal))
                        return _seen[next];
                }

                if (_openStreams == 0)
                    throw new InvalidOperationException($"the process exited before a line containing \"{text}\"; output:\n{string.Join('\n', _seen)}");
                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"no line containing \"{text}\" within {timeout}; output:\n{Output}");
            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                // Checked once more above, then reported.
            }
        }
    }

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>Asks the process to stop (SIGTERM), as a service manager or <c>docker stop</c> does; does not wait.</summary>
    public void Terminate() => Signal("TERM");

    /// <summary>Sends the process the signal named <paramref name="name"/> (<c>kill -NAME</c>); does not wait.</summary>
    public void Signal(string name) => Process.Start("kill", [$"-{name}", _process.Id.ToString()])?.WaitForExit();

    /// <summary>Kills the process at once (SIGKILL: no shutdown, sockets reset by the system) and waits for it to be gone.</summary>
    public async Task Kill(TimeSpan timeout)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    private void Write(string? line)
    {
        TaskCompletionSource changed;
        lock (_seen)
        {
            if (line is null)
                _openStreams--;
            else
                _seen.Add(line);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Terminate();
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
