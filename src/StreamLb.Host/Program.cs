using StreamLb.Host;

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
