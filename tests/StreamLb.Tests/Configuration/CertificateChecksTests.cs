using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Configuration;

public sealed class CertificateChecksTests : IDisposable
{
    private readonly TempFolder _folder = new();

    // Lines: 3 ssl_certificate, 4 ssl_certificate_key.
    private const string Config = """
        stream {
            upstream b { server 10.0.0.1:80; }
            ssl_certificate certs/server.crt;
            ssl_certificate_key certs/server.key;
            server { listen 443 ssl; proxy_pass b; }
            server { listen 444 ssl; proxy_pass b; }
            server { listen 80; proxy_pass b; }
        }
        """;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Reports_missing_files_at_their_directives_once()
    {
        var (config, path) = Load();

        var errors = CertificateChecks.Check(config);

        Assert.Equal(
            [
                new ConfigError(new SourceLocation(path, 3), "ssl_certificate",
                    $"cannot load certificate \"{_folder.PathOf("certs/server.crt")}\": No such file or directory"),
                new ConfigError(new SourceLocation(path, 4), "ssl_certificate_key",
                    $"cannot load certificate key \"{_folder.PathOf("certs/server.key")}\": No such file or directory"),
            ],
            errors);
    }

    [Fact]
    public void Reports_a_certificate_file_that_is_not_pem()
    {
        _folder.Write("certs/server.crt", "garbage");
        _folder.Write("certs/server.key", "garbage");
        var (config, path) = Load();

        var error = Assert.Single(CertificateChecks.Check(config));

        Assert.Equal(
            $"{path}:3: cannot load certificate \"{_folder.PathOf("certs/server.crt")}\": "
            + "The certificate contents do not contain a PEM with a CERTIFICATE label, or the content is malformed",
            error.ToString());
    }

    [Fact]
    public void Reports_a_key_file_that_is_not_pem()
    {
        var (certificatePem, _) = CreatePair();
        _folder.Write("certs/server.crt", certificatePem);
        _folder.Write("certs/server.key", "garbage");
        var (config, path) = Load();

        var error = Assert.Single(CertificateChecks.Check(config));

        Assert.Equal(new SourceLocation(path, 4), error.Location);
        Assert.Equal("ssl_certificate_key", error.Directive);
        Assert.StartsWith($"cannot load certificate key \"{_folder.PathOf("certs/server.key")}\": ", error.Message);
    }

    [Fact]
    public void Reports_a_key_that_does_not_match_the_certificate()
    {
        var (certificatePem, _) = CreatePair();
        var (_, otherKeyPem) = CreatePair();
        _folder.Write("certs/server.crt", certificatePem);
        _folder.Write("certs/server.key", otherKeyPem);
        var (config, path) = Load();

        var error = Assert.Single(CertificateChecks.Check(config));

        Assert.Equal(new SourceLocation(path, 4), error.Location);
        Assert.StartsWith($"cannot load certificate key \"{_folder.PathOf("certs/server.key")}\": ", error.Message);
    }

    [Fact]
    public void Accepts_a_valid_certificate_and_key()
    {
        var (certificatePem, keyPem) = CreatePair();
        _folder.Write("certs/server.crt", certificatePem);
        _folder.Write("certs/server.key", keyPem);
        var (config, _) = Load();

        Assert.Empty(CertificateChecks.Check(config));
    }

    [Fact]
    public void Load_itself_does_not_check_certificate_files()
    {
        var path = _folder.Write("stream.conf", Config);

        Assert.True(ConfigLoader.Load(path).IsValid);
    }

    private (StreamConfig Config, string Path) Load()
    {
        var path = _folder.Write("stream.conf", Config);
        var result = ConfigLoader.Load(path);
        Assert.Empty(result.Errors);
        return (result.Config!, path);
    }

    private static (string CertificatePem, string KeyPem) CreatePair()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return (certificate.ExportCertificatePem(), rsa.ExportPkcs8PrivateKeyPem());
    }
}
