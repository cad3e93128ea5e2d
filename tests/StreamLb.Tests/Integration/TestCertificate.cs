using StreamLb.Tls;

namespace StreamLb.Tests.Integration;

/// <summary>One development certificate for the whole test run, written once to a temp folder.</summary>
internal static class TestCertificate
{
    private static readonly Lazy<(string Cert, string Key)> Files = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "streamlb-tests-" + Environment.ProcessId);
        var cert = Path.Combine(folder, "server.crt");
        var key = Path.Combine(folder, "server.key");
        DevelopmentCertificate.Write(cert, key);
        return (cert, key);
    });

    public static string CertificatePath => Files.Value.Cert;

    public static string KeyPath => Files.Value.Key;
}
