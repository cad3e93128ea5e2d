namespace StreamLb.Configuration;

/// <summary>Short, errno-like reasons for file errors, so messages read like nginx's.</summary>
internal static class FileErrors
{
    /// <param name="path">The file that failed to open, when there is one: a folder there is said to be one.</param>
    public static string Describe(Exception error, string? path = null) => error switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException when path is not null && Directory.Exists(path) => "Is a directory",
        UnauthorizedAccessException => "Permission denied",
        _ => error.Message.TrimEnd('.'),
    };
}
