using System.Net.Security;

namespace StreamLb.Configuration;

/// <summary>Reads the OpenSSL-style list of <c>ssl_ciphers</c> into .NET cipher suites.</summary>
internal static class CipherSuiteNames
{
    private static readonly (string OpenSsl, TlsCipherSuite Suite)[] Common =
    [
        ("TLS_AES_128_GCM_SHA256", TlsCipherSuite.TLS_AES_128_GCM_SHA256),
        ("TLS_AES_256_GCM_SHA384", TlsCipherSuite.TLS_AES_256_GCM_SHA384),
        ("TLS_CHACHA20_POLY1305_SHA256", TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ("ECDHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ("DHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256),
        ("DHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384),
        ("DHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ];

    // Each suite is known by its OpenSSL name and by its IANA name (the enum member's name).
    private static readonly Dictionary<string, TlsCipherSuite> Suites = Common
        .SelectMany(c => new[] { (c.OpenSsl, c.Suite), (c.Suite.ToString(), c.Suite) })
        .DistinctBy(c => c.Item1)
        .ToDictionary(c => c.Item1, c => c.Item2, StringComparer.Ordinal);

    // OpenSSL's selectors: they stand for sets of suites the platform chooses, not for one suite.
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "ALL", "DEFAULT", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "HIGH", "MEDIUM", "LOW",
        "aNULL", "eNULL", "NULL", "MD5", "RC4", "3DES", "DES", "EXP", "EXPORT", "PSK", "SRP", "DSS", "CAMELLIA",
        "SEED", "IDEA", "SHA", "SHA1", "SHA256", "SHA384", "AES", "AES128", "AES256", "AESGCM", "CHACHA20",
        "RSA", "kRSA", "aRSA", "ECDSA", "aECDSA", "ECDH", "ECDHE", "EECDH", "kEECDH", "DH", "DHE", "EDH", "kEDH",
        "TLSv1", "TLSv1.2", "SSLv3",
    };

    /// <summary>
    /// The named suites of <paramref name="list"/>, or null (the system's default list) when the list selects by
    /// keyword, e.g. <c>HIGH:!aNULL:!MD5</c>. False with the offending token when a name is not known.
    /// </summary>
    public static bool TryParse(string list, out IReadOnlyList<TlsCipherSuite>? suites, out string unknown)
    {
        suites = null;
        unknown = "";
        var named = new List<TlsCipherSuite>();
        var selectsByKeyword = false;
        foreach (var token in list.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            // Exclusions, reordering and @STRENGTH-like commands never add a suite.
            if (token[0] is '!' or '-' or '+' or '@')
                continue;
            if (Suites.TryGetValue(token, out var suite))
            {
                if (!named.Contains(suite))
                    named.Add(suite);
            }
            else if (token.Split('+').All(Keywords.Contains))
            {
                selectsByKeyword = true;
            }
            else
            {
                unknown = token;
                return false;
            }
        }

        suites = selectsByKeyword || named.Count == 0 ? null : named;
        return true;
    }

    /// <summary>A TLS 1.3 suite (named the same by OpenSSL and IANA), set apart from TLS 1.2's list in OpenSSL.</summary>
    public static bool IsTls13(TlsCipherSuite suite) => suite is TlsCipherSuite.TLS_AES_128_GCM_SHA256
        or TlsCipherSuite.TLS_AES_256_GCM_SHA384 or TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256;

    /// <summary>OpenSSL's name of one of the known suites.</summary>
    public static string OpenSslName(TlsCipherSuite suite) => Common.First(c => c.Suite == suite).OpenSsl;
}
