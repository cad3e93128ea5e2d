using StreamLb.Host;

// Socket completions run on the socket engine's threads (one per core), where the connection graphs then run too
// (StreamLb.Relay.RelayDispatcher): the event-loop model, without a thread switch per read. Read once, before the
// first socket; an explicit setting in the environment wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
    Environment.SetEnvironmentVariable(InlineCompletions, "1");

var commandLine = CommandLine.Parse(args, out var error);
if (commandLine is null)
{
    Console.Error.WriteLine($"streamlb: {error}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

return commandLine.Command == "check"
    ? CheckCommand.Run(commandLine.ConfigFile!, Console.Out)
    : await RunCommand.RunAsync(commandLine).ConfigureAwait(false);
