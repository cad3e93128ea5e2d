using StreamLb.Tls;

namespace StreamLb.Tests.Integration;

/// <summary>
/// One development certificate for the whole test run, written once to a temp folder, which goes when the run ends.
/// </summary>
internal static class TestCertificate
{
    private static readonly Lazy<(string Cert, string Key)> Files = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "streamlb-tests-" + Environment.ProcessId);
        var cert = Path.Combine(folder, "server.crt");
        var key = Path.Combine(folder, "server.key");
        DevelopmentCertificate.Write(cert, key);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(folder);
        return (cert, key);
    });

    private static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: nothing more can be done at exit.
        }
    }

    public static string CertificatePath => Files.Value.Cert;

    public static string KeyPath => Files.Value.Key;
}
