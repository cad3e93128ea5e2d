using StreamLb.Configuration;

namespace StreamLb.Host;

/// <summary><c>streamlb check -c FILE</c>: like <c>nginx -t</c>, every error with file and line, or <c>ok</c>.</summary>
public static class CheckCommand
{
    public static int Run(string configFile, TextWriter output)
    {
        var result = ConfigLoader.Load(configFile);
        var errors = result.Config is null ? result.Errors : [.. result.Errors, .. CertificateChecks.Check(result.Config)];
        if (errors.Count == 0)
        {
            output.WriteLine("ok");
            return 0;
        }

        foreach (var error in errors)
            output.WriteLine(error);
        return 1;
    }
}
