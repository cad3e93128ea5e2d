namespace StreamLb.Configuration;

/// <summary>Short, errno-like reasons for file errors, so messages read like nginx's.</summary>
internal static class FileErrors
{
    public static string Describe(Exception error) => error switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => error.Message.TrimEnd('.'),
    };
}
