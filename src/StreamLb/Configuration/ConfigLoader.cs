namespace StreamLb.Configuration;

/// <summary>
/// Loads an nginx-style <c>stream { }</c> configuration. Never throws on a bad config: every error, with its file
/// and line, comes back in the <see cref="ConfigResult"/>. Certificate files are checked by <see cref="CertificateChecks"/>.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Loads the file at <paramref name="path"/>; error locations name it by its absolute path.</summary>
    public static ConfigResult Load(string path)
    {
        string file;
        try
        {
            file = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException)
        {
            return new ConfigResult(null, [new ConfigError(new SourceLocation(path, 0), "", $"open() \"{path}\" failed ({FileErrors.Describe(e)})")]);
        }

        try
        {
            return Parse(File.ReadAllText(file), file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigResult(null, [new ConfigError(new SourceLocation(file, 0), "", $"open() \"{file}\" failed ({FileErrors.Describe(e, file)})")]);
        }
    }

    /// <summary>
    /// Parses <paramref name="text"/> as if read from <paramref name="fileName"/>: errors name it as given, and
    /// relative paths resolve against its folder (the current directory when it has none).
    /// </summary>
    public static ConfigResult Parse(string text, string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var errors = new List<ConfigError>();
        var directives = new DirectiveReader(errors).ReadText(text, fileName);
        var config = new ConfigParser(errors).Parse(directives, Path.GetFullPath(fileName));
        return new ConfigResult(errors.Count == 0 ? config : null, errors);
    }
}
