using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace StreamLb.Configuration;

/// <summary>
/// Checks that every server's certificate and key load. Separate from <see cref="ConfigLoader"/> because
/// <c>streamlb run</c> generates a development certificate when both files are missing.
/// </summary>
public static class CertificateChecks
{
    public static IReadOnlyList<ConfigError> Check(StreamConfig config)
    {
        var errors = new List<ConfigError>();
        foreach (var tls in config.Servers.Select(s => s.Tls).OfType<TlsConfig>())
        {
            var certificate = new ConfigError(tls.CertificateLocation, "ssl_certificate", $"cannot load certificate \"{tls.CertificatePath}\": ");
            var key = new ConfigError(tls.KeyLocation, "ssl_certificate_key", $"cannot load certificate key \"{tls.KeyPath}\": ");
            var certificateReadable = Readable(tls.CertificatePath, certificate, errors);
            var keyReadable = Readable(tls.KeyPath, key, errors);
            if (certificateReadable && keyReadable
                && Loads(() => X509Certificate2.CreateFromPem(File.ReadAllText(tls.CertificatePath)), certificate, errors))
                Loads(() => X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath), key, errors);
        }

        // Servers inheriting the stream-level certificate share its locations; report each problem once.
        return errors.Distinct().ToList();
    }

    private static bool Readable(string path, ConfigError error, List<ConfigError> errors)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(error with { Message = error.Message + FileErrors.Describe(e) });
            return false;
        }
    }

    private static bool Loads(Func<X509Certificate2> load, ConfigError error, List<ConfigError> errors)
    {
        try
        {
            load().Dispose();
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add(error with { Message = error.Message + FileErrors.Describe(e) });
            return false;
        }
    }
}
